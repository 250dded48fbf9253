// The series cache for charts: see store.ts (the SeriesStore) and format.ts (what it keeps on disk).
export { SeriesStore } from './store';
export type { LatestPoint, SeriesAxis, SeriesQuery, SeriesSlice, SeriesSource, SeriesStoreOptions } from './types';
