import { describe, expect, it } from 'vitest';
import { dimensionText, UNFILLED } from './reports.ts';

describe('dimensionText', () => {
  it('labels the rows of unfilled requests instead of leaving the line item blank', () => {
    const unfilled = { line_item: '', line_item_name: null, placement: 'pl_1', placement_name: 'Article MPU' };
    expect(dimensionText('line_item', unfilled)).toBe(UNFILLED);
    expect(dimensionText('placement', unfilled)).toBe('Article MPU');
  });

  it('uses the name, then the id, then "(unknown)" for supply and context dimensions', () => {
    expect(dimensionText('line_item', { line_item: 'li_1', line_item_name: 'Spring MPU' })).toBe('Spring MPU');
    expect(dimensionText('line_item', { line_item: 'li_gone', line_item_name: null })).toBe('li_gone');
    expect(dimensionText('country', { country: '' })).toBe('(unknown)');
  });
});
