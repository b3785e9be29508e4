import type { Creative } from '@marquee/core';
import { A, useNavigate, useParams, useSearchParams } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createResource, createSignal, Show } from 'solid-js';
import { CreativeForm } from '../components/creative-form.tsx';
import { ErrorBox, errorText, Loading, PageHeader, StatusBadge } from '../components/states.tsx';
import { createEntity, getAsset, getEntity, updateEntity } from '../lib/api.ts';
import { invalidateNames } from '../lib/names.ts';
import { canWrite, isAdmin } from '../lib/session.ts';

async function load(id: string): Promise<{ creative: Creative; assetUrl: string }> {
  const creative = await getEntity('creatives', id);
  let assetUrl = '';
  if (creative.assetId) {
    const asset = await getAsset(creative.assetId).catch(() => null);
    if (asset) assetUrl = asset.kind === 'html5' ? `${asset.url}/index.html` : asset.url;
  }
  return { creative, assetUrl };
}

export default function CreativeEdit(): JSX.Element {
  const params = useParams<{ id?: string }>();
  const [search] = useSearchParams<{ advertiserId?: string }>();
  const navigate = useNavigate();
  const [data, { mutate }] = createResource(() => params.id, load);
  const [approvalError, setApprovalError] = createSignal<string | null>(null);

  const save = async (body: Record<string, unknown>): Promise<void> => {
    if (!params.id) {
      const created = await createEntity('creatives', body);
      invalidateNames('creatives');
      navigate(`/creatives/${created.id}`, { replace: true });
      return;
    }
    const current = data()!;
    if (Object.keys(body).length === 0) return;
    const creative = await updateEntity('creatives', current.creative.id, current.creative.version, body);
    mutate({ ...current, creative });
  };

  const setApproval = async (approval: Creative['approval']): Promise<void> => {
    const current = data()!;
    setApprovalError(null);
    try {
      const creative = await updateEntity('creatives', current.creative.id, current.creative.version, { approval });
      mutate({ ...current, creative });
    } catch (err) {
      setApprovalError(errorText(err));
    }
  };

  return (
    <section>
      <nav aria-label="Breadcrumb" class="mb-2 text-sm">
        <A href="/creatives" class="text-indigo-700 hover:underline">
          Creatives
        </A>
      </nav>
      <Show
        when={params.id}
        fallback={
          <>
            <PageHeader title="New creative" subtitle="Creatives need approval by the network before they serve." />
            <CreativeForm defaults={search.advertiserId ? { advertiserId: search.advertiserId } : {}} onSubmit={save} />
          </>
        }
      >
        <Show when={!data.error} fallback={<ErrorBox error={data.error} />}>
          <Show when={data()} fallback={<Loading />}>
            {(d) => (
              <>
                <PageHeader title={d().creative.name} subtitle={`${d().creative.id} · version ${d().creative.version}`}>
                  <StatusBadge status={d().creative.status} />
                  <StatusBadge status={d().creative.approval} />
                </PageHeader>
                <Show when={isAdmin()}>
                  <section aria-label="Approval" class="card mb-4 flex flex-wrap items-center gap-3">
                    <span class="text-sm">
                      Approval: <strong>{d().creative.approval}</strong>. Only approved creatives serve.
                    </span>
                    <button
                      type="button"
                      class="btn btn-primary"
                      disabled={d().creative.approval === 'approved'}
                      onClick={() => setApproval('approved')}
                    >
                      Approve
                    </button>
                    <button
                      type="button"
                      class="btn btn-danger"
                      disabled={d().creative.approval === 'rejected'}
                      onClick={() => setApproval('rejected')}
                    >
                      Reject
                    </button>
                    <Show when={approvalError()}>
                      <span role="alert" class="text-sm text-red-700">
                        {approvalError()}
                      </span>
                    </Show>
                  </section>
                </Show>
                <CreativeForm
                  initial={d().creative}
                  defaults={{ assetUrl: d().assetUrl }}
                  onSubmit={save}
                  readOnly={!canWrite()}
                />
              </>
            )}
          </Show>
        </Show>
      </Show>
    </section>
  );
}
