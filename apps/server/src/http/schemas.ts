/** Schemas shared by every route module: the error body, pagination, id params. */
import { Id } from '@marquee/core';
import { type TSchema, Type } from 'typebox';
import { ERRORS } from './errors.ts';

export const ErrorDetail = Type.Object(
  {
    path: Type.String({ description: 'JSON pointer to the field, "" for the whole request' }),
    message: Type.String(),
    code: Type.Optional(Type.String({ description: 'Machine-readable reason, e.g. the JSON Schema keyword' })),
  },
  { additionalProperties: false },
);

export const ErrorResponse = Type.Object(
  {
    code: Type.Enum(Object.keys(ERRORS) as (keyof typeof ERRORS)[], { description: 'See docs/api/errors.md' }),
    message: Type.String(),
    details: Type.Array(ErrorDetail),
  },
  { additionalProperties: false, title: 'Error', description: 'Every error has this shape' },
);

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

/** Query string of list endpoints. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
};

/** `{ items, nextCursor, total }` of list endpoints. */
export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
      total: Type.Integer({ minimum: 0 }),
    },
    { additionalProperties: false },
  );

/** OpenAPI security requirement for routes that need a session cookie or an API key. */
export const AUTHENTICATED: Array<Record<string, string[]>> = [{ session: [] }, { apiKey: [] }];
/** OpenAPI security requirement for public routes. */
export const PUBLIC: Array<Record<string, string[]>> = [];
