import FindMyWay from 'find-my-way';

/**
 * Remembers which methods exist for each route path, so an unknown method on a known path gets
 * 405 with an Allow header instead of 404. Uses the same router library as Fastify, so path
 * matching (params, wildcards) is the same.
 */
export interface RouteIndex {
  add(method: string | readonly string[], url: string): void;
  /** Methods registered for the path of `url`, empty when no route has this path. */
  allowedMethods(url: string): string[];
}

export function createRouteIndex(): RouteIndex {
  const router = FindMyWay();
  const byPath = new Map<string, Set<string>>();
  return {
    add(method, url) {
      // The dashboard's catch-all GET (SPA fallback) does not make every path "known": POST /nothing stays a 404.
      if (url === '/*') return;
      const methods = typeof method === 'string' ? [method] : method;
      let set = byPath.get(url);
      if (!set) {
        set = new Set();
        byPath.set(url, set);
        try {
          router.on('GET', url, () => {}, { methods: set });
        } catch {
          // Another path with different param names at the same position; it just won't get a 405.
        }
      }
      for (const m of methods) if (m !== 'OPTIONS') set.add(m);
    },
    allowedMethods(url) {
      const path = url.split('?')[0] ?? url;
      const found = router.find('GET', path);
      const store = found?.store as { methods: Set<string> } | undefined;
      return store ? [...store.methods].sort() : [];
    },
  };
}
