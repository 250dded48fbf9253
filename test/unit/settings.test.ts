// The settings table (src/runtime/settings.ts) is the one place defaults are written:
// package.json's `contributes.configuration` must declare the same settings with the
// same defaults, and a value of the wrong type falls back to the default, saying why.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { defaultSettings, effectsOf, SETTING_KEYS, SETTINGS, settingValue } from '../../src/runtime/settings';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default: unknown }> } };
};

describe('settings table', () => {
  it('declares exactly the settings package.json contributes, with the same defaults', () => {
    const declared = pkg.contributes.configuration.properties;
    assert.deepEqual(Object.keys(declared).sort(), SETTING_KEYS.map((k) => `runwatch.${k}`).sort());
    for (const k of SETTING_KEYS) assert.deepEqual(declared[`runwatch.${k}`].default, SETTINGS[k].default, k);
  });

  it('falls back to the default for a value that is not allowed, and says so', () => {
    const said: string[] = [];
    assert.equal(
      settingValue('collector.port', 70000, (m) => said.push(m)),
      0,
    );
    assert.equal(
      settingValue('collector.port', '8080', (m) => said.push(m)),
      0,
    );
    assert.equal(settingValue('collector.port', 8080), 8080);
    assert.equal(settingValue('collector.host', undefined), '127.0.0.1');
    assert.equal(said.length, 2);
    assert.match(said[0], /runwatch\.collector\.port is 70000, which is not allowed; using the default 0/);
  });

  it('names what a change needs, strongest first', () => {
    assert.deepEqual(effectsOf(['dashboard.openOnRunStart', 'collector.port', 'store.path']), [
      'store',
      'collector',
      'live',
    ]);
    assert.deepEqual(effectsOf(['backends']), ['plugins']);
    assert.notEqual(defaultSettings().backends, SETTINGS.backends.default, 'a fresh copy, not the table itself');
  });
});
