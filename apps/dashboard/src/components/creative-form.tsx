/**
 * The creative editor: kind and size, upload with local checks (type, bytes, real pixel size against the chosen
 * size) before the server's own, a live preview at real size, and approval for admins.
 */
import type { Creative } from '@marquee/core';
import type { JSX } from 'solid-js';
import { createSignal, For, Match, Show, Switch } from 'solid-js';
import { createStore } from 'solid-js/store';
import { ApiError, uploadAsset } from '../lib/api.ts';
import { errorsAt, type FormErrors, NO_ERRORS, toFormErrors, unplaced } from '../lib/field-errors.ts';
import { COMMON_SIZES, CREATIVE_KIND_OPTIONS, STATUS_OPTIONS } from '../lib/options.ts';
import { CreativePreview } from './creative-preview.tsx';
import { changedOnly, RefSelect } from './entity-form.tsx';
import { ErrorList, Field } from './field.tsx';

export const UPLOAD_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/zip'];
export const UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;

/** Local checks before uploading: the server checks again from the bytes, this only saves a round trip. */
export function checkUpload(
  file: { type: string; size: number; name: string },
  natural: { width: number; height: number } | null,
  wanted: { width?: number | undefined; height?: number | undefined },
): string[] {
  const problems: string[] = [];
  const zip = file.type === 'application/zip' || file.name.toLowerCase().endsWith('.zip');
  if (!UPLOAD_TYPES.includes(file.type) && !zip)
    problems.push('Upload a PNG, JPEG, GIF or WebP image, or a zip of an HTML5 ad (SVG is not accepted).');
  if (file.size > UPLOAD_LIMIT_BYTES)
    problems.push(`The file is ${(file.size / 1048576).toFixed(1)} MiB; the limit is 10 MiB.`);
  if (natural && wanted.width && wanted.height && (natural.width !== wanted.width || natural.height !== wanted.height))
    problems.push(
      `The image is ${natural.width}×${natural.height} pixels, but the creative is ${wanted.width}×${wanted.height}.`,
    );
  return problems;
}

function imageSize(file: File): Promise<{ width: number; height: number } | null> {
  if (!file.type.startsWith('image/')) return Promise.resolve(null);
  return createImageBitmap(file).then(
    (b) => {
      const size = { width: b.width, height: b.height };
      b.close();
      return size;
    },
    () => null,
  );
}

interface Values {
  advertiserId: string;
  name: string;
  status: Creative['status'];
  kind: Creative['kind'];
  size: string;
  clickUrl: string;
  assetId: string;
  assetUrl: string;
  imageUrl: string;
  html: string;
  categories: string;
  nTitle: string;
  nBody: string;
  nImageUrl: string;
  nCta: string;
  nSponsor: string;
  vUrl: string;
  vMime: string;
  vDuration: string;
  vSize: string;
}

function initialValues(c: Creative | undefined, defaults: Partial<Values>): Values {
  return {
    advertiserId: c?.advertiserId ?? '',
    name: c?.name ?? '',
    status: c?.status ?? 'draft',
    kind: c?.kind ?? 'image',
    size: c?.width ? `${c.width}x${c.height}` : '300x250',
    clickUrl: c?.clickUrl ?? '',
    assetId: c?.assetId ?? '',
    assetUrl: '',
    imageUrl: c?.imageUrl ?? '',
    html: c?.html ?? '',
    categories: (c?.categories ?? []).join(', '),
    nTitle: c?.native?.title ?? '',
    nBody: c?.native?.body ?? '',
    nImageUrl: c?.native?.imageUrl ?? '',
    nCta: c?.native?.callToAction ?? '',
    nSponsor: c?.native?.sponsoredBy ?? '',
    vUrl: c?.video?.mediaUrl ?? '',
    vMime: c?.video?.mimeType ?? 'video/mp4',
    vDuration: c?.video ? String(c.video.durationSec) : '15',
    vSize: c?.video ? `${c.video.width}x${c.video.height}` : '640x360',
    ...defaults,
  };
}

const sizeOf = (s: string): { width?: number; height?: number } => {
  const m = /^(\d+)\s*[x×]\s*(\d+)$/.exec(s.trim());
  return m ? { width: Number(m[1]), height: Number(m[2]) } : {};
};

export function creativeBody(
  v: Values,
  mode: 'create' | 'edit',
): { body: Record<string, unknown>; local: Map<string, string[]> } {
  const local = new Map<string, string[]>();
  const body: Record<string, unknown> = { name: v.name.trim(), kind: v.kind, status: v.status };
  if (mode === 'create') body.advertiserId = v.advertiserId;
  if (!v.name.trim()) local.set('/name', ['Required']);
  if (mode === 'create' && !v.advertiserId) local.set('/advertiserId', ['Choose the advertiser']);
  body.categories = v.categories.split(/[\s,]+/).filter(Boolean);
  if (v.clickUrl.trim()) body.clickUrl = v.clickUrl.trim();
  if (v.kind === 'image' || v.kind === 'html') {
    const { width, height } = sizeOf(v.size);
    if (!width) local.set('/width', ['Enter a size such as 300x250']);
    body.width = width;
    body.height = height;
  }
  if (v.kind === 'image') {
    if (v.assetId) body.assetId = v.assetId;
    else if (v.imageUrl.trim()) body.imageUrl = v.imageUrl.trim();
  }
  if (v.kind === 'html') {
    if (v.assetId) body.assetId = v.assetId;
    if (v.html.trim()) body.html = v.html;
  }
  if (v.kind === 'native') {
    body.native = {
      title: v.nTitle,
      ...(v.nBody ? { body: v.nBody } : {}),
      ...(v.nImageUrl ? { imageUrl: v.nImageUrl } : {}),
      ...(v.nCta ? { callToAction: v.nCta } : {}),
      ...(v.nSponsor ? { sponsoredBy: v.nSponsor } : {}),
    };
  }
  if (v.kind === 'vast') {
    const { width, height } = sizeOf(v.vSize);
    body.video = { mediaUrl: v.vUrl, mimeType: v.vMime, durationSec: Number(v.vDuration), width, height };
  }
  return { body, local };
}

export function CreativeForm(props: {
  initial?: Creative;
  defaults?: Partial<Values>;
  onSubmit: (body: Record<string, unknown>) => Promise<void>;
  readOnly?: boolean;
}): JSX.Element {
  const mode = props.initial ? 'edit' : 'create';
  const [v, setV] = createStore<Values>(initialValues(props.initial, props.defaults ?? {}));
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [uploadErrors, setUploadErrors] = createSignal<string[]>([]);
  const [uploading, setUploading] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  const [saved, setSaved] = createSignal(false);

  const onFile = async (file: File | undefined): Promise<void> => {
    setUploadErrors([]);
    if (!file) return;
    const natural = await imageSize(file);
    let wanted = sizeOf(v.size);
    // No size chosen yet for an image: take the image's own.
    if (natural && v.kind === 'image' && !wanted.width) {
      setV('size', `${natural.width}x${natural.height}`);
      wanted = natural;
    }
    const problems = checkUpload(file, natural, wanted);
    if (problems.length) {
      setUploadErrors(problems);
      return;
    }
    if (!v.advertiserId) {
      setUploadErrors(['Choose the advertiser first: uploads belong to one advertiser.']);
      return;
    }
    setUploading(true);
    try {
      const asset = await uploadAsset(v.advertiserId, file, wanted.width, wanted.height);
      setV({ assetId: asset.id, assetUrl: asset.kind === 'html5' ? `${asset.url}/index.html` : asset.url });
    } catch (err) {
      setUploadErrors(err instanceof ApiError ? [err.message, ...err.details.map((d) => d.message)] : [String(err)]);
    } finally {
      setUploading(false);
    }
  };

  let form!: HTMLFormElement;
  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    setSaved(false);
    const { body, local } = creativeBody(v, mode);
    if (local.size) {
      setErrors({ byPath: local, general: ['Some fields need attention.'] });
      queueMicrotask(() => (form.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus());
      return;
    }
    setBusy(true);
    try {
      const payload = props.initial ? changedOnly(body, props.initial as unknown as Record<string, unknown>) : body;
      await props.onSubmit(payload);
      setErrors(NO_ERRORS);
      setSaved(true);
    } catch (err) {
      setErrors(toFormErrors(err));
      queueMicrotask(() =>
        (form.querySelector('[aria-invalid="true"], [role="alert"]') as HTMLElement | null)?.focus(),
      );
    } finally {
      setBusy(false);
    }
  };

  const at = (p: string): string[] => errorsAt(errors(), p);
  const known = [
    '/name',
    '/advertiserId',
    '/kind',
    '/width',
    '/height',
    '/clickUrl',
    '/assetId',
    '/imageUrl',
    '/html',
    '/native',
    '/video',
    '/categories',
    '/status',
    '/format',
  ];
  const text = (key: keyof Values, label: string, pointer: string, hint?: string, cls = ''): JSX.Element => (
    <Field label={label} hint={hint} errors={at(pointer)} class={cls}>
      {(a) => (
        <input
          id={a.id}
          name={key}
          class="input"
          aria-invalid={a.invalid}
          aria-describedby={a.describedBy}
          value={v[key]}
          onInput={(e) => setV(key, e.currentTarget.value as never)}
        />
      )}
    </Field>
  );
  const previewUrl = (): string | undefined => v.assetUrl || v.imageUrl || undefined;

  return (
    <div class="grid gap-6 lg:grid-cols-[minmax(0,1fr)_auto]">
      <form ref={form} onSubmit={submit} novalidate class="space-y-4" aria-label="Creative">
        <ErrorList errors={[...errors().general, ...unplaced(errors(), known)]} />
        <fieldset class="card grid gap-4 sm:grid-cols-2" disabled={props.readOnly}>
          <legend class="px-1 text-base font-semibold">The ad</legend>
          <Field label="Advertiser *" errors={at('/advertiserId')}>
            {(a) => (
              <RefSelect
                plural="advertisers"
                value={v.advertiserId}
                attrs={{ id: a.id, 'aria-invalid': a.invalid, disabled: mode === 'edit' }}
                onChange={(x) => setV('advertiserId', x)}
              />
            )}
          </Field>
          {text('name', 'Name *', '/name')}
          <Field label="Kind" errors={at('/kind')}>
            {(a) => (
              <select
                id={a.id}
                class="input"
                value={v.kind}
                onChange={(e) => setV('kind', e.currentTarget.value as Creative['kind'])}
              >
                <For each={CREATIVE_KIND_OPTIONS}>{(o) => <option value={o.value}>{o.label}</option>}</For>
              </select>
            )}
          </Field>
          <Field label="Status" errors={at('/status')}>
            {(a) => (
              <select
                id={a.id}
                class="input"
                value={v.status}
                onChange={(e) => setV('status', e.currentTarget.value as Creative['status'])}
              >
                <For each={STATUS_OPTIONS}>{(o) => <option value={o.value}>{o.label}</option>}</For>
              </select>
            )}
          </Field>
          <Show when={v.kind === 'image' || v.kind === 'html'}>
            <Field
              label="Size (width×height)"
              hint="Standard sizes are listed; any size works"
              errors={[...at('/width'), ...at('/height')]}
            >
              {(a) => (
                <>
                  <input
                    id={a.id}
                    name="size"
                    class="input"
                    list="common-sizes"
                    aria-invalid={a.invalid}
                    aria-describedby={a.describedBy}
                    value={v.size}
                    onInput={(e) => setV('size', e.currentTarget.value)}
                  />
                  <datalist id="common-sizes">
                    <For each={COMMON_SIZES}>{(s) => <option value={s} />}</For>
                  </datalist>
                </>
              )}
            </Field>
          </Show>
          {text('clickUrl', 'Click URL', '/clickUrl', 'Where a click goes, https://…')}
          {text('categories', 'IAB categories', '/categories', 'Comma separated, e.g. IAB20')}
        </fieldset>

        <fieldset class="card space-y-4" disabled={props.readOnly}>
          <legend class="px-1 text-base font-semibold">Content</legend>
          <Switch>
            <Match when={v.kind === 'image' || v.kind === 'html'}>
              <Field
                label={v.kind === 'image' ? 'Upload the image' : 'Upload an HTML5 bundle (zip)'}
                hint="PNG, JPEG, GIF, WebP or a zip; up to 10 MiB; an image must be exactly the size above"
                errors={[...uploadErrors(), ...at('/assetId')]}
              >
                {(a) => (
                  <input
                    id={a.id}
                    type="file"
                    class="block text-sm"
                    accept={v.kind === 'image' ? 'image/png,image/jpeg,image/gif,image/webp' : '.zip,application/zip'}
                    aria-invalid={a.invalid}
                    aria-describedby={a.describedBy}
                    onChange={(e) => onFile(e.currentTarget.files?.[0])}
                  />
                )}
              </Field>
              <Show when={uploading()}>
                <p role="status" class="text-sm">
                  Uploading…
                </p>
              </Show>
              <Show when={v.assetId}>
                <p class="text-sm text-emerald-700" role="status">
                  Uploaded asset <code>{v.assetId}</code>
                </p>
              </Show>
              <Show when={v.kind === 'image'}>
                {text('imageUrl', 'Or an image URL', '/imageUrl', 'Instead of an upload: https://…')}
              </Show>
              <Show when={v.kind === 'html'}>
                <Field label="HTML or third-party tag" hint="Runs in a sandboxed iframe" errors={at('/html')}>
                  {(a) => (
                    <textarea
                      id={a.id}
                      class="input min-h-32 font-mono text-xs"
                      aria-invalid={a.invalid}
                      value={v.html}
                      onInput={(e) => setV('html', e.currentTarget.value)}
                    />
                  )}
                </Field>
              </Show>
            </Match>
            <Match when={v.kind === 'native'}>
              <div class="grid gap-4 sm:grid-cols-2">
                {text('nTitle', 'Title *', '/native/title')}
                {text('nSponsor', 'Sponsored by', '/native/sponsoredBy')}
                {text('nBody', 'Body', '/native/body', undefined, 'sm:col-span-2')}
                {text('nImageUrl', 'Image URL', '/native/imageUrl')}
                {text('nCta', 'Call to action', '/native/callToAction')}
              </div>
            </Match>
            <Match when={v.kind === 'vast'}>
              <div class="grid gap-4 sm:grid-cols-2">
                {text('vUrl', 'Media file URL *', '/video/mediaUrl', 'https://…/ad.mp4', 'sm:col-span-2')}
                {text('vMime', 'MIME type', '/video/mimeType')}
                {text('vDuration', 'Duration (seconds)', '/video/durationSec')}
                {text('vSize', 'Video size', '/video/width', 'e.g. 1280x720')}
              </div>
            </Match>
          </Switch>
        </fieldset>
        <Show when={!props.readOnly}>
          <div class="flex items-center gap-3">
            <button type="submit" class="btn btn-primary" disabled={busy() || uploading()}>
              {busy() ? 'Saving…' : mode === 'create' ? 'Create creative' : 'Save changes'}
            </button>
            <Show when={saved()}>
              <span role="status" class="text-sm text-emerald-700">
                Saved
              </span>
            </Show>
          </div>
        </Show>
      </form>
      <aside aria-label="Preview" class="card h-fit">
        <h2 class="mb-2 text-base font-semibold">Live preview</h2>
        <CreativePreview
          input={{
            kind: v.kind,
            ...(v.kind === 'vast' ? sizeOf(v.vSize) : sizeOf(v.size)),
            imageUrl: previewUrl(),
            html:
              v.kind === 'html' && v.assetUrl && !v.html
                ? `<iframe src="${v.assetUrl}" style="border:0;width:100%;height:100%"></iframe>`
                : v.html,
            native: {
              title: v.nTitle,
              body: v.nBody,
              imageUrl: v.nImageUrl,
              callToAction: v.nCta,
              sponsoredBy: v.nSponsor,
            },
            videoUrl: v.vUrl,
          }}
        />
      </aside>
    </div>
  );
}

export type CreativeValues = Values;
