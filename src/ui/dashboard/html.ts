// The HTML shell shared by the dashboard and compare webviews: a nonce CSP starting
// from `default-src 'none'`, loading only our bundle and its stylesheet. With `inline`, the
// bundle and stylesheet are written into the page itself (nonce'd): in VS Code for the web a
// webview's every resource is fetched through its service worker and the window, which took
// about a second per page load after the first (bench/dashboard-ux.bench.ts), on the path
// from a click (or a hidden tab shown again) to the first chart.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';

/** Bundle file → its text, read once per extension host (the files do not change while it runs). */
const inlined = new Map<string, string>();

function readOnce(file: string): string | undefined {
  let text = inlined.get(file);
  if (text === undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return undefined; // not built: fall back to loading it by URL
    }
    inlined.set(file, text);
  }
  return text;
}

/** `localResourceRoots` narrowed to what the pages load: the webview bundle and media. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [
      vscode.Uri.joinPath(extensionUri, 'dist', 'webview'),
      vscode.Uri.joinPath(extensionUri, 'media'),
    ],
  };
}

export function webviewHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  bundle: 'dashboard' | 'compare' | 'runsTable',
  title: string,
  options: { inline?: boolean } = {},
): string {
  const nonce = randomBytes(16).toString('base64');
  const base = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  const scriptUri = vscode.Uri.joinPath(base, `${bundle}.js`);
  const styleUri = vscode.Uri.joinPath(base, `${bundle}.css`);
  const js = options.inline ? readOnce(scriptUri.fsPath) : undefined;
  const css = options.inline ? readOnce(styleUri.fsPath) : undefined;
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  // `</script` (or `</style`) inside the inlined text would end the element early.
  const styleTag =
    css !== undefined
      ? `<style nonce="${nonce}">${css.replace(/<\/style/gi, '<\\/style')}</style>`
      : `<link rel="stylesheet" href="${webview.asWebviewUri(styleUri)}">`;
  const scriptTag =
    js !== undefined
      ? `<script nonce="${nonce}">${js.replace(/<\/script/gi, '<\\/script')}</script>`
      : `<script nonce="${nonce}" src="${webview.asWebviewUri(scriptUri)}"></script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styleTag}
<title>${escapeHtml(title)}</title>
</head>
<body>
<div id="root"></div>
${scriptTag}
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
