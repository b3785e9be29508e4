import type { TargetingNode } from '@marquee/core/targeting';
import { fireEvent, render, screen } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import { TargetingEditor } from './targeting-editor.tsx';

function setup(value: TargetingNode | null = null) {
  let last: TargetingNode | null = value;
  const view = render(() => <TargetingEditor value={value} onChange={(n) => (last = n)} />);
  return { view, result: () => last };
}

describe('TargetingEditor', () => {
  it('builds country AND NOT device from picks, without typing syntax', async () => {
    const { result } = setup();
    fireEvent.click(screen.getByRole('button', { name: 'Add rule' }));
    const add = screen.getByRole('textbox', { name: 'Add Country value' });
    fireEvent.input(add, { target: { value: 'us, ca' } });
    fireEvent.keyDown(add, { key: 'Enter' });
    expect(result()).toEqual({ dimension: 'country', values: ['US', 'CA'] });

    fireEvent.click(screen.getByRole('button', { name: 'Add rule' }));
    const selects = screen.getAllByRole('combobox', { name: 'Dimension' });
    fireEvent.change(selects[1]!, { target: { value: 'device' } });
    fireEvent.click(screen.getByRole('checkbox', { name: 'mobile' }));
    const exclude = screen.getAllByRole('checkbox', { name: 'Exclude' });
    fireEvent.click(exclude[1]!);
    expect(result()).toEqual({
      and: [{ dimension: 'country', values: ['US', 'CA'] }, { not: { dimension: 'device', values: ['mobile'] } }],
    });
    expect(screen.getByTestId('targeting-summary').textContent).toBe('country is US, CA AND NOT device is mobile');
  });

  it('switches a group to OR, nests a group, and removes chips and rules', () => {
    const { result } = setup({
      and: [
        { dimension: 'keyword', values: ['travel', 'flights'] },
        { dimension: 'weekday', values: [1, 2] },
      ],
    });
    fireEvent.change(screen.getAllByRole('combobox', { name: 'Match' })[0]!, { target: { value: 'or' } });
    expect(result()).toEqual({
      or: [
        { dimension: 'keyword', values: ['travel', 'flights'] },
        { dimension: 'weekday', values: [1, 2] },
      ],
    });
    fireEvent.click(screen.getByRole('button', { name: 'Remove flights' }));
    fireEvent.click(screen.getByRole('button', { name: 'Remove Day of week rule' }));
    expect(result()).toEqual({ dimension: 'keyword', values: ['travel'] });

    fireEvent.click(screen.getAllByRole('button', { name: 'Add group' })[0]!);
    const adds = screen.getAllByRole('textbox', { name: 'Add Country value' });
    fireEvent.input(adds[0]!, { target: { value: 'FR' } });
    fireEvent.keyDown(adds[0]!, { key: 'Enter' });
    expect(result()).toEqual({
      or: [
        { dimension: 'keyword', values: ['travel'] },
        { dimension: 'country', values: ['FR'] },
      ],
    });
  });

  it('keeps focus and text while typing a kv key (nodes are replaced on every edit)', () => {
    const { result } = setup({ dimension: 'kv', key: 's', values: ['sport'] });
    const key = screen.getByRole('textbox', { name: 'Key' }) as HTMLInputElement;
    key.focus();
    fireEvent.input(key, { target: { value: 'section' } });
    expect(document.activeElement).toBe(screen.getByRole('textbox', { name: 'Key' }));
    expect(result()).toEqual({ dimension: 'kv', key: 'section', values: ['sport'] });
  });

  it('shows the server errors for the targeting field', () => {
    render(() => <TargetingEditor value={null} onChange={() => {}} errors={['too deep: at most 8 levels']} />);
    expect(screen.getByRole('alert').textContent).toContain('too deep');
  });
});
