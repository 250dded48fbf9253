// Artifacts to MLflow through the server's mlflow-artifacts proxy (`mlflow server
// --serve-artifacts`): a file, or a folder file by file, under the run's artifact root.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorText } from '../../common/errors';
import { MlflowError, parseResponse, type MlflowHttp } from './http';

/** Path of the run's artifact root under the mlflow-artifacts proxy, or undefined when the server does not proxy. */
export function proxiedArtifactRoot(artifactUri: string): string | undefined {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
  return m ? m[1].replace(/\/+$/, '') : undefined;
}

/** An artifact's name as a relative path without `..`, so it cannot escape the run's artifact folder. */
export function artifactDest(name: string): string {
  const parts = name.split(/[\\/]+/).filter((p) => p !== '' && p !== '.' && p !== '..');
  return parts.join('/') || 'artifact';
}

function listFiles(root: string): { file: string; rel: string }[] {
  const out: { file: string; rel: string }[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile()) out.push({ file: p, rel: r });
    }
  };
  walk(root, '');
  return out;
}

/**
 * The files to upload for an artifact `name` at `file` (a file or a folder), each
 * with its path under the artifact root; undefined when it is gone from disk.
 */
export function artifactFiles(name: string, file: string): { file: string; rel: string }[] | undefined {
  try {
    const stat = fs.statSync(file);
    if (!stat.isDirectory()) return [{ file, rel: artifactDest(name) }];
    return listFiles(file).map((f) => ({ file: f.file, rel: `${artifactDest(name)}/${f.rel}` }));
  } catch {
    return undefined;
  }
}

/** Uploads files under `root` (from `proxiedArtifactRoot`); throws an MlflowError naming the file on failure. */
export async function uploadFiles(
  http: MlflowHttp,
  root: string,
  files: { file: string; rel: string }[],
): Promise<void> {
  for (const f of files) {
    const rel = `${root}/${f.rel}`.split('/').map(encodeURIComponent).join('/');
    let res;
    try {
      const size = fs.statSync(f.file).size;
      res = await http.request('PUT', `api/2.0/mlflow-artifacts/artifacts/${rel}`, { file: f.file, size });
    } catch (err) {
      throw new MlflowError(`MLflow artifact upload failed: ${errorText(err)}`, 0);
    }
    parseResponse(res, `artifact upload of ${f.rel}`);
  }
}
