// The published schema for `contributes.runwatch` (src/api/contributes.schema.json),
// checked with a real JSON Schema validator: the example companion's manifest
// passes, malformed contributions fail, and the run-time check in discovery.ts
// refuses the same ones.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { readContributions } from '../../src/api/discovery';

const root = path.resolve(__dirname, '../..');
const schema = JSON.parse(fs.readFileSync(path.join(root, 'src/api/contributes.schema.json'), 'utf8')) as object;
// allowUnionTypes: the schema's `enum` items are `["string", "number"]`, plain draft-07.
const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);

const good = { id: 'ok', displayName: 'OK', kind: 'backend' };
const manifest = (plugin: unknown) => ({ name: 'x', contributes: { runwatch: { plugins: [plugin] } } });
const withSchema = (configSchema: unknown) => manifest({ ...good, configSchema });

const bad: [string, unknown][] = [
  ['no id', manifest({ displayName: 'X', kind: 'backend' })],
  ['an id with a space', manifest({ ...good, id: 'my backend' })],
  ['an unknown kind', manifest({ ...good, kind: 'sink' })],
  ['displayName not a string', manifest({ ...good, displayName: 3 })],
  ['an unknown plugin field', manifest({ ...good, colour: 'red' })],
  ['capabilities not strings', manifest({ ...good, capabilities: [1] })],
  ['configSchema without properties', withSchema({ type: 'object' })],
  ['configSchema of type array', withSchema({ type: 'array', properties: {} })],
  ['a property of an unknown type', withSchema({ type: 'object', properties: { port: { type: 'port' } } })],
  ['a property without a type', withSchema({ type: 'object', properties: { port: { description: 'p' } } })],
  [
    'a property with an unknown field',
    withSchema({ type: 'object', properties: { port: { type: 'integer', max: 3 } } }),
  ],
  ['secret not a boolean', withSchema({ type: 'object', properties: { token: { type: 'string', secret: 'yes' } } })],
  ['minimum not a number', withSchema({ type: 'object', properties: { n: { type: 'number', minimum: '1' } } })],
  ['plugins not a list', { contributes: { runwatch: { plugins: { id: 'x' } } } }],
];

describe('contributes.runwatch schema (ajv)', () => {
  it('accepts the example companion manifest, and the run-time check takes all its plugins', () => {
    const example = JSON.parse(fs.readFileSync(path.join(root, 'examples/companion-backend/package.json'), 'utf8')) as {
      contributes: { runwatch: { plugins: unknown[] } };
    };
    assert.ok(validate(example), JSON.stringify(validate.errors));
    const { plugins, problems } = readContributions(example, 'runwatch-examples.runwatch-jsonl-backend');
    assert.deepEqual(problems, []);
    assert.equal(plugins.length, example.contributes.runwatch.plugins.length);
  });

  it('accepts every kind and every property field', () => {
    const all = {
      contributes: {
        runwatch: {
          plugins: [
            { id: 'a.b_c-1', displayName: 'A', kind: 'source', description: 'd', capabilities: ['metrics'] },
            { id: 'p', displayName: 'P', kind: 'processor' },
            {
              ...good,
              configSchema: {
                type: 'object',
                required: ['level'],
                properties: {
                  level: { type: 'string', enum: ['a', 'b'], default: 'a', description: 'x' },
                  n: { type: 'integer', minimum: 0, maximum: 9, default: 3 },
                  tags: { type: 'array', items: { type: 'string' }, default: ['x'] },
                  token: { type: 'string', secret: true },
                  on: { type: 'boolean', default: false },
                },
              },
            },
          ],
        },
      },
    };
    assert.ok(validate(all), JSON.stringify(validate.errors));
    assert.deepEqual(readContributions(all).problems, []);
  });

  for (const [what, pkg] of bad) {
    it(`rejects ${what}, and so does the run-time check`, () => {
      assert.equal(validate(pkg), false, `the schema should reject ${what}`);
      const { plugins, problems } = readContributions(pkg, 'me.ext');
      assert.equal(plugins.length, 0, `readContributions should reject ${what}`);
      assert.ok(problems.length > 0 && problems.every((p) => p.startsWith('me.ext: ')), problems.join('\n'));
    });
  }

  it('rejects an unknown key beside plugins; at run time that is reported and the plugins still count', () => {
    const pkg = { contributes: { runwatch: { plugins: [good], extra: true } } };
    assert.equal(validate(pkg), false);
    const { plugins, problems } = readContributions(pkg, 'me.ext');
    assert.deepEqual(
      plugins.map((p) => p.id),
      ['ok'],
    );
    assert.deepEqual(problems, ['me.ext: contributes.runwatch.extra is not a field Runwatch knows (only "plugins")']);
  });
});
