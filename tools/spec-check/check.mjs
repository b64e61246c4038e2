// Validates the machine-readable API descriptions:
//   docs/asyncapi.yaml with @asyncapi/parser (AsyncAPI 3.0 schema + its Spectral rules),
//   docs/openapi.yaml  with @redocly/openapi-core (OpenAPI 3.1, "recommended" rules),
// and every AsyncAPI message example against its payload schema (ajv, draft-07),
// which the AsyncAPI parser does not do for 3.0 documents.
// Prints every diagnostic; exits 1 when either file has an error.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { lint, createConfig } from '@redocly/openapi-core';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const asyncapiPath = path.join(root, 'docs', 'asyncapi.yaml');
const openapiPath = path.join(root, 'docs', 'openapi.yaml');
const severityName = { 0: 'error', 1: 'warning', 2: 'info', 3: 'hint' };
let failed = false;

async function checkAsyncapi() {
  const source = await readFile(asyncapiPath, 'utf8');
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(source, { source: asyncapiPath });
  let errors = 0;
  for (const d of diagnostics) {
    const where = d.path && d.path.length ? d.path.join('.') : '(root)';
    const line = d.range ? `:${d.range.start.line + 1}` : '';
    console.log(`asyncapi.yaml${line} ${severityName[d.severity] ?? d.severity} ${d.code}: ${d.message} [${where}]`);
    if (d.severity === DiagnosticSeverity.Error) errors++;
  }
  if (!document || errors > 0) {
    console.log(`asyncapi.yaml: FAILED (${errors} error(s))`);
    failed = true;
    return;
  }
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  let examples = 0;
  for (const message of document.messages()) {
    const validate = ajv.compile(message.payload()?.json() ?? {});
    for (const ex of message.examples()) {
      examples++;
      if (!validate(ex.payload())) {
        errors++;
        console.log(
          `asyncapi.yaml error example: message ${message.id()} example ${ex.name() ?? '?'} ` +
            `does not match its payload: ${ajv.errorsText(validate.errors)}`,
        );
      }
    }
  }
  if (errors > 0) {
    console.log(`asyncapi.yaml: FAILED (${errors} error(s))`);
    failed = true;
    return;
  }
  const version = document.version();
  if (version !== '3.0.0') {
    console.log(`asyncapi.yaml: FAILED (asyncapi ${version}, expected 3.0.0)`);
    failed = true;
    return;
  }
  console.log(
    `asyncapi.yaml: ok (AsyncAPI ${version}; ${document.channels().length} channels, ` +
      `${document.operations().length} operations, ${document.messages().length} messages, ` +
      `${examples} examples valid, ` +
      `${diagnostics.length} non-error diagnostic(s))`,
  );
}

async function checkOpenapi() {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lint({ ref: openapiPath, config });
  let errors = 0;
  for (const p of problems) {
    const loc = p.location?.[0];
    const where = loc ? `${loc.pointer}` : '';
    console.log(`openapi.yaml ${p.severity} ${p.ruleId}: ${p.message} [${where}]`);
    if (p.severity === 'error') errors++;
  }
  const text = await readFile(openapiPath, 'utf8');
  if (!/^openapi:\s*['"]?3\.1\.\d+/m.test(text)) {
    console.log('openapi.yaml: FAILED (not an OpenAPI 3.1 document)');
    failed = true;
    return;
  }
  if (errors > 0) {
    console.log(`openapi.yaml: FAILED (${errors} error(s))`);
    failed = true;
    return;
  }
  console.log(`openapi.yaml: ok (OpenAPI 3.1; ${problems.length} warning(s))`);
}

for (const step of [checkAsyncapi, checkOpenapi]) {
  try {
    await step();
  } catch (e) {
    console.log(`${step.name}: FAILED: ${e?.stack ?? e}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
