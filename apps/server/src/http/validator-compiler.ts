/**
 * Request validation with two Ajv instances: one for the body (no type coercion: `"5"` is not a number,
 * unknown fields are rejected, not stripped) and one for querystring, params and headers, which arrive
 * as text and are coerced (`coerceTypes: 'array'` also turns `?id=a` into `["a"]` where an array is expected).
 */
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export; the interop differs between tsx and bundlers.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => Ajv;

const BASE: Options = {
  allErrors: true,
  // Fastify's default strips unknown properties silently; we reject them (schemas say additionalProperties: false).
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  allowUnionTypes: true,
};

function makeAjv(options: Options, externalSchemas: Record<string, unknown>): Ajv {
  const ajv = new Ajv({ ...BASE, ...options });
  addFormats(ajv);
  for (const schema of Object.values(externalSchemas)) ajv.addSchema(schema as object);
  return ajv;
}

/** A `schemaController.compilersFactory.buildValidator` for Fastify. */
export function buildValidator(externalSchemas: Record<string, unknown>): FastifySchemaCompiler<FastifySchema> {
  const body = makeAjv({ coerceTypes: false }, externalSchemas);
  const text = makeAjv({ coerceTypes: 'array' }, externalSchemas);
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? body : text;
    return ajv.compile(schema as object) as ValidateFunction;
  };
}
