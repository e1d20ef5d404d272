// Checks JSON values against schemas of OpenAI's API description (tests/server/spec), with the
// validator Prism uses (its ajv and options, resolved from the pinned @stoplight/prism-http).
// For what the Prism proxy cannot check: the chunks of a streamed (text/event-stream) answer, which
// Prism validates as one JSON body and so always reports as "Response body must be object".
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const prismRequire = createRequire(createRequire(import.meta.url).resolve('@stoplight/prism-http'));
const Ajv = prismRequire('ajv').default;
const addFormats = prismRequire('ajv-formats').default;
const { parse } = prismRequire('@stoplight/yaml');

const SPEC = fileURLToPath(new URL('../spec/openai-openapi.yaml', import.meta.url));
let ajv;
const compiled = new Map();

// OpenAPI's "nullable: true" as JSON Schema (the description mixes it into its 3.1 schemas; Prism
// converts it the same way before validating).
function convertNullable(node) {
  if (Array.isArray(node)) return node.map(convertNullable);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = convertNullable(v);
  if (out.nullable !== true) {
    delete out.nullable;
    return out;
  }
  delete out.nullable;
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'], ...(out.enum ? { enum: [...out.enum, null] } : {}) };
  if (Array.isArray(out.type)) return { ...out, type: out.type.includes('null') ? out.type : [...out.type, 'null'] };
  return { anyOf: [out, { type: 'null' }] };
}

function validator(name) {
  if (!ajv) {
    const doc = parse(readFileSync(SPEC, 'utf8'));
    // Prism's options (prism-http validator/validators/utils.js); "nullable" is OpenAPI's keyword.
    ajv = new Ajv({ allErrors: true, allowUnionTypes: true, allowMatchingProperties: true, strict: false, logger: false });
    addFormats(ajv);
    ajv.addFormat('unixtime', true);
    ajv.addSchema({ components: convertNullable(doc.components) }, 'openai.yaml');
  }
  if (!compiled.has(name)) compiled.set(name, ajv.compile({ $ref: `openai.yaml#/components/schemas/${name}` }));
  return compiled.get(name);
}

// Compiles the validators of these schemas now: compiling takes a second or more and blocks the
// event loop, which must not happen between requests (a pooled keep-alive connection that the
// server closes meanwhile would be reused: "other side closed").
export function prepare(names) {
  for (const name of names) validator(name);
}

// The violations of `value` against components.schemas[name], each "path: message", less those
// that `ignore(error)` accepts.
export function violations(name, value, ignore = () => false) {
  const validate = validator(name);
  if (validate(value)) return [];
  return validate.errors.filter(e => !ignore(e)).map(e => `${e.instancePath || '/'}: ${e.message} ${JSON.stringify(e.params)}`);
}
