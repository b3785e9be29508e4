import { fireEvent, render, screen, waitFor } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/api.ts';
import { changedOnly, EntityForm, type FieldSpec, toBody } from './entity-form.tsx';

const SPECS: FieldSpec[] = [
  { name: 'name', label: 'Name', kind: 'text', required: true },
  { name: 'startAt', label: 'Starts', kind: 'datetime' },
  { name: 'endAt', label: 'Ends', kind: 'datetime' },
  { name: 'lifetimeBudgetMicros', label: 'Budget', kind: 'money' },
];

describe('EntityForm', () => {
  it("puts the server's field error under the field it points at and keeps what was typed", async () => {
    const sent: Record<string, unknown>[] = [];
    render(() => (
      <EntityForm
        specs={SPECS}
        mode="create"
        submitLabel="Create"
        onSubmit={async (body) => {
          sent.push(body);
          throw new ApiError(422, 'MQ_ERR_UNPROCESSABLE', 'The request breaks a business rule', [
            { path: '/endAt', message: 'must be after startAt', code: 'end_before_start' },
          ]);
        }}
      />
    ));
    fireEvent.input(screen.getByLabelText('Name *'), { target: { value: 'Spring' } });
    fireEvent.input(screen.getByLabelText('Starts'), { target: { value: '2026-03-01T00:00' } });
    fireEvent.input(screen.getByLabelText('Ends'), { target: { value: '2026-02-01T00:00' } });
    fireEvent.input(screen.getByLabelText('Budget'), { target: { value: '1,250.5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));

    await waitFor(() => expect(screen.getByLabelText('Ends').getAttribute('aria-invalid')).toBe('true'));
    expect(sent[0]).toEqual({
      name: 'Spring',
      startAt: '2026-03-01T00:00:00.000Z',
      endAt: '2026-02-01T00:00:00.000Z',
      lifetimeBudgetMicros: 1_250_500_000,
    });
    const ends = screen.getByLabelText('Ends');
    const errorId = ends.getAttribute('aria-describedby')!;
    expect(document.getElementById(errorId)?.textContent).toBe('must be after startAt');
    expect(screen.getByLabelText('Starts').getAttribute('aria-invalid')).toBe('false');
    expect((screen.getByLabelText('Name *') as HTMLInputElement).value).toBe('Spring');
    expect((screen.getByLabelText('Budget') as HTMLInputElement).value).toBe('1,250.5');
    expect(screen.getByRole('alert').textContent).toContain('breaks a business rule');
  });

  it('checks locally what it can (required, amounts) without calling the server', async () => {
    let calls = 0;
    render(() => <EntityForm specs={SPECS} mode="create" submitLabel="Create" onSubmit={async () => void calls++} />);
    fireEvent.input(screen.getByLabelText('Budget'), { target: { value: '12.5.0' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(screen.getByLabelText('Budget').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByLabelText('Name *').getAttribute('aria-invalid')).toBe('true');
    expect(calls).toBe(0);
  });

  it('sends only changed fields on edit, and null for a cleared optional field', () => {
    const original = {
      name: 'A',
      startAt: '2026-03-01T00:00:00.000Z',
      endAt: '2026-04-01T00:00:00.000Z',
      lifetimeBudgetMicros: 5,
    };
    const { body } = toBody(
      SPECS,
      { name: 'A', startAt: '2026-03-01T00:00', endAt: '', lifetimeBudgetMicros: '0.000005' },
      'edit',
    );
    expect(changedOnly(body, original)).toEqual({ endAt: null });
  });
});
