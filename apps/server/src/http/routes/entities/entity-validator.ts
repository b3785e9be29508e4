import { TARGETING_JSON_SCHEMA } from '@marquee/core';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { validationDetails } from '../../error-handler.ts';
import { MarqueeError } from '../../errors.ts';

// ajv-formats is CommonJS with a default export; the interop differs between tsx and bundlers.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => Ajv;

let ajv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Validates a whole entity after a PATCH was merged over the stored one (the request schema only saw
 * the patch). No coercion, no defaults: what is checked is exactly what will be written.
 */
export function assertValidEntity(schema: object, value: unknown): void {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, coerceTypes: false, useDefaults: false });
    addFormats(ajv);
    ajv.addSchema(TARGETING_JSON_SCHEMA as object);
  }
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(value)) {
    throw new MarqueeError(
      'MQ_ERR_UNPROCESSABLE',
      'The entity would not be valid after this change',
      validationDetails(validate.errors ?? []),
    );
  }
}
