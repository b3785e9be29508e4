import { describe, expect, it } from 'vitest';
import { ApiError } from './api.ts';
import { errorsAt, toFormErrors, unplaced } from './field-errors.ts';

describe('toFormErrors', () => {
  const error = new ApiError(422, 'MQ_ERR_UNPROCESSABLE', 'The request breaks a rule', [
    { path: '/endAt', message: 'must be after startAt', code: 'end_before_start' },
    { path: '/frequencyCaps/1/per', message: 'one cap per window', code: 'duplicate' },
    { path: '/colour', message: 'is not an allowed field', code: 'additionalProperties' },
    { path: '', message: 'whole request' },
  ]);

  it('puts each detail at its field and below', () => {
    const errors = toFormErrors(error);
    expect(errorsAt(errors, '/endAt')).toEqual(['must be after startAt']);
    expect(errorsAt(errors, '/frequencyCaps')).toEqual(['one cap per window']);
    expect(errorsAt(errors, '/end')).toEqual([]);
    expect(errors.general).toEqual(['The request breaks a rule', 'whole request']);
  });

  it('lists details that match no field so nothing is hidden', () => {
    expect(unplaced(toFormErrors(error), ['/endAt', '/frequencyCaps'])).toEqual(['/colour: is not an allowed field']);
  });

  it('explains a conflict in words', () => {
    const errors = toFormErrors(new ApiError(409, 'MQ_ERR_CONFLICT', 'stale'));
    expect(errors.general[0]).toMatch(/changed this while you were editing/);
  });
});
