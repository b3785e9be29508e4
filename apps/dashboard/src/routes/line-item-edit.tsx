import { A, useNavigate, useParams, useSearchParams } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createResource, Show } from 'solid-js';
import { LineItemForm } from '../components/line-item-form.tsx';
import { ErrorBox, Loading, PageHeader, StatusBadge } from '../components/states.tsx';
import { createEntity, getEntity, updateEntity } from '../lib/api.ts';
import { invalidateNames } from '../lib/names.ts';
import { canWrite } from '../lib/session.ts';
import { describeTargeting } from '../lib/targeting-tree.ts';

export default function LineItemEdit(): JSX.Element {
  const params = useParams<{ id?: string }>();
  const [search] = useSearchParams<{ campaignId?: string }>();
  const navigate = useNavigate();
  const isNew = (): boolean => !params.id;
  const [item, { mutate }] = createResource(
    () => params.id,
    (id) => getEntity('line-items', id),
  );

  const save = async (body: Record<string, unknown>): Promise<void> => {
    if (isNew()) {
      const created = await createEntity('line-items', body);
      invalidateNames('line-items');
      navigate(`/line-items/${created.id}`, { replace: true });
      return;
    }
    const current = item()!;
    if (Object.keys(body).length === 0) return;
    mutate(await updateEntity('line-items', current.id, current.version, body));
  };

  return (
    <section>
      <nav aria-label="Breadcrumb" class="mb-2 text-sm">
        <A href="/line-items" class="text-indigo-700 hover:underline">
          Line items
        </A>
      </nav>
      <Show
        when={!isNew()}
        fallback={
          <>
            <PageHeader title="New line item" subtitle="Starts as a draft: activate it when it is ready." />
            <LineItemForm defaults={search.campaignId ? { campaignId: search.campaignId } : {}} onSubmit={save} />
          </>
        }
      >
        <Show when={!item.error} fallback={<ErrorBox error={item.error} />}>
          <Show when={item()} fallback={<Loading />}>
            {(li) => (
              <>
                <PageHeader
                  title={li().name}
                  subtitle={`${li().id} · version ${li().version} · ${describeTargeting(li().targeting)}`}
                >
                  <StatusBadge status={li().status} />
                  <A class="btn" href={`/delivery?lineItemId=${li().id}`}>
                    Delivery
                  </A>
                </PageHeader>
                <LineItemForm initial={li()} onSubmit={save} readOnly={!canWrite()} />
              </>
            )}
          </Show>
        </Show>
      </Show>
    </section>
  );
}
