/**
 * Names of parent rows (advertisers, campaigns, publishers, sites) for table cells, fetched once per screen load
 * and shared. Lists are capped at 500 by the API; a row not in the first 500 shows its id.
 */
import { createResource, createRoot, type Resource } from 'solid-js';
import { type EntityPlural, listEntities } from './api.ts';

const cache = new Map<EntityPlural, Resource<Map<string, string>>>();

export function names(plural: EntityPlural): Resource<Map<string, string>> {
  let r = cache.get(plural);
  if (!r) {
    r = createRoot(() => {
      const [res] = createResource(async () => {
        const page = await listEntities(plural, { limit: 500, includeArchived: true }).catch(() => null);
        return new Map((page?.items ?? []).map((e) => [e.id, e.name]));
      });
      return res;
    });
    cache.set(plural, r);
  }
  return r;
}

export function nameOf(plural: EntityPlural, id: string | null | undefined): string {
  if (!id) return '—';
  return names(plural)()?.get(id) ?? id;
}

/** Forget cached names after a create or rename. */
export function invalidateNames(plural: EntityPlural): void {
  cache.delete(plural);
}
