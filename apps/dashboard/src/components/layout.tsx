/** The signed-in shell: navigation for what the user's role may see, the user's menu and the page. */
import { A, useNavigate } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createSignal, ErrorBoundary, For, Show } from 'solid-js';
import { type Area, canSee, signOut, user } from '../lib/session.ts';
import { ErrorBox } from './states.tsx';

interface NavItem {
  readonly href: string;
  readonly label: string;
  readonly area?: Area;
}
interface NavSection {
  readonly title: string;
  readonly area?: Area;
  readonly items: readonly NavItem[];
}

export const NAV: readonly NavSection[] = [
  { title: 'Home', items: [{ href: '/', label: 'Overview' }] },
  {
    title: 'Demand',
    area: 'demand',
    items: [
      { href: '/advertisers', label: 'Advertisers' },
      { href: '/campaigns', label: 'Campaigns' },
      { href: '/line-items', label: 'Line items' },
      { href: '/creatives', label: 'Creatives' },
      { href: '/audiences', label: 'Audiences' },
    ],
  },
  {
    title: 'Supply',
    area: 'supply',
    items: [
      { href: '/publishers', label: 'Publishers' },
      { href: '/sites', label: 'Sites & apps' },
      { href: '/placements', label: 'Placements' },
    ],
  },
  {
    title: 'Insight',
    items: [
      { href: '/reports', label: 'Reports' },
      { href: '/delivery', label: 'Delivery', area: 'demand' },
      { href: '/explain', label: 'Why no ad?', area: 'demand' },
      { href: '/billing', label: 'Billing' },
    ],
  },
  {
    title: 'Administration',
    area: 'admin',
    items: [
      { href: '/admin/users', label: 'Users' },
      { href: '/admin/audit', label: 'Audit log' },
    ],
  },
  { title: 'Account', items: [{ href: '/api-keys', label: 'API keys' }] },
];

export function Layout(props: { children?: JSX.Element }): JSX.Element {
  const navigate = useNavigate();
  const [open, setOpen] = createSignal(false);
  const visible = (area?: Area): boolean => !area || canSee(area);
  const leave = async (): Promise<void> => {
    await signOut();
    navigate('/sign-in', { replace: true });
  };
  return (
    <div class="min-h-screen md:flex">
      <a
        href="#main"
        class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:bg-white focus:p-2"
      >
        Skip to content
      </a>
      <header class="flex items-center justify-between border-b border-slate-200 bg-slate-900 px-4 py-3 text-white md:hidden">
        <span class="font-semibold">Marquee</span>
        <button
          type="button"
          class="rounded border border-slate-600 px-2 py-1 text-sm"
          aria-expanded={open()}
          aria-controls="main-nav"
          onClick={() => setOpen(!open())}
        >
          Menu
        </button>
      </header>
      <nav
        id="main-nav"
        aria-label="Main"
        class={`${open() ? 'block' : 'hidden'} w-full shrink-0 bg-slate-900 text-slate-200 md:block md:min-h-screen md:w-56`}
      >
        <div class="hidden px-4 py-4 text-lg font-semibold text-white md:block">Marquee</div>
        <For each={NAV.filter((s) => visible(s.area))}>
          {(section) => (
            <div class="px-2 pb-3">
              <p class="px-2 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-400">{section.title}</p>
              <ul>
                <For each={section.items.filter((i) => visible(i.area))}>
                  {(item) => (
                    <li>
                      <A
                        href={item.href}
                        end={item.href === '/'}
                        class="block rounded px-2 py-1.5 text-sm hover:bg-slate-800"
                        activeClass="bg-slate-700 text-white font-medium"
                        onClick={() => setOpen(false)}
                      >
                        {item.label}
                      </A>
                    </li>
                  )}
                </For>
              </ul>
            </div>
          )}
        </For>
        <div class="border-t border-slate-700 px-4 py-3 text-sm">
          <Show when={user()}>
            <p class="truncate text-white" title={user()!.email}>
              {user()!.name}
            </p>
            <p class="text-xs text-slate-400">{user()!.role}</p>
          </Show>
          <button type="button" class="mt-2 text-sm text-slate-200 underline hover:text-white" onClick={leave}>
            Sign out
          </button>
        </div>
      </nav>
      <main id="main" tabindex="-1" class="min-w-0 flex-1 p-4 md:p-6">
        {/* A screen that fails while rendering shows its error here instead of a blank page. */}
        <ErrorBoundary fallback={(err, reset) => <ErrorBox error={err} retry={reset} />}>
          {props.children}
        </ErrorBoundary>
      </main>
    </div>
  );
}
