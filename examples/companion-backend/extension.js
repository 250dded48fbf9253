// A companion extension for Runwatch. Runwatch lists our backend (declared in
// package.json under contributes.runwatch.plugins) before we run, and activates us
// when a person chooses it in "Runwatch: Select Backends". We then register the
// backend through Runwatch's exported API.
'use strict';
const vscode = require('vscode');
const { createJsonlBackend } = require('./jsonlBackend');

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  const runwatch = vscode.extensions.getExtension('runwatch.runwatch');
  if (!runwatch) throw new Error('Runwatch is not installed');
  /** @type {import('../../src/api/types').RunwatchExports} */
  const exportsOfRunwatch = await runwatch.activate();
  const api = exportsOfRunwatch.getApi(1);
  const baseDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  // registerPlugin returns a Disposable: unregistered when we are deactivated.
  context.subscriptions.push(api.registerPlugin(createJsonlBackend({ baseDir })));
}

function deactivate() {}

module.exports = { activate, deactivate };
