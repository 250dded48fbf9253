// placeholder until the collector CLI lands
console.error('collector CLI not built yet'); process.exit(2);
