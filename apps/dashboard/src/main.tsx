/* @refresh reload */
import './app.css';
import { Navigate, Route, Router, useLocation, useNavigate } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createEffect, createResource, lazy, Show } from 'solid-js';
import { render } from 'solid-js/web';
import { Layout } from './components/layout.tsx';
import { Empty, Loading } from './components/states.tsx';
import { type Area, canSee, restore, user } from './lib/session.ts';
import SignIn from './routes/sign-in.tsx';

// Every screen is its own chunk: the first load carries the shell only, charts load with the screens that draw them.
const Overview = lazy(() => import('./routes/overview.tsx'));
const Entities = lazy(() => import('./routes/entities.tsx'));
const LineItemEdit = lazy(() => import('./routes/line-item-edit.tsx'));
const CreativeEdit = lazy(() => import('./routes/creative-edit.tsx'));
const Reports = lazy(() => import('./routes/reports.tsx'));
const Delivery = lazy(() => import('./routes/delivery.tsx'));
const Explain = lazy(() => import('./routes/explain.tsx'));
const Billing = lazy(() => import('./routes/billing.tsx'));
const Users = lazy(() => import('./routes/admin-users.tsx'));
const ApiKeys = lazy(() => import('./routes/admin-api-keys.tsx'));
const Audit = lazy(() => import('./routes/admin-audit.tsx'));

/** Signed-in area: restores the session on a reload, sends the user to sign-in when it ends. */
function Authenticated(props: { children?: JSX.Element }): JSX.Element {
  const navigate = useNavigate();
  const location = useLocation();
  const [restored] = createResource(() => (user() ? Promise.resolve(true) : restore()));
  createEffect(() => {
    if (restored.state === 'ready' && !user()) {
      const next = location.pathname + location.search;
      navigate(`/sign-in${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`, { replace: true });
    }
  });
  return (
    <Show when={user()} fallback={<Loading label="Checking your session…" />}>
      <Layout>{props.children}</Layout>
    </Show>
  );
}

/** A screen for one side of the network: an advertiser's user never sees supply screens, and the other way round. */
function only(area: Area, Screen: (p: Record<string, unknown>) => JSX.Element) {
  return (p: Record<string, unknown>): JSX.Element => (
    <Show
      when={canSee(area)}
      fallback={<Empty title="This page is not available for your role">Use the navigation to find your pages.</Empty>}
    >
      <Screen {...p} />
    </Show>
  );
}

const entity = (kind: string, area: Area) => only(area, () => <Entities kind={kind} />);

function App(): JSX.Element {
  return (
    <Router>
      <Route path="/sign-in" component={SignIn} />
      <Route path="/" component={Authenticated}>
        <Route path="/" component={Overview} />
        <Route path="/advertisers/*rest" component={entity('advertisers', 'demand')} />
        <Route path="/campaigns/*rest" component={entity('campaigns', 'demand')} />
        <Route path="/line-items/new" component={only('demand', () => <LineItemEdit />)} />
        <Route path="/line-items/:id" component={only('demand', () => <LineItemEdit />)} />
        <Route path="/line-items" component={entity('line-items', 'demand')} />
        <Route path="/creatives/new" component={only('demand', () => <CreativeEdit />)} />
        <Route path="/creatives/:id" component={only('demand', () => <CreativeEdit />)} />
        <Route path="/creatives" component={entity('creatives', 'demand')} />
        <Route path="/audiences/*rest" component={entity('audiences', 'demand')} />
        <Route path="/publishers/*rest" component={entity('publishers', 'supply')} />
        <Route path="/sites/*rest" component={entity('sites', 'supply')} />
        <Route path="/placements/*rest" component={entity('placements', 'supply')} />
        <Route path="/reports" component={Reports} />
        <Route path="/delivery" component={only('demand', () => <Delivery />)} />
        <Route path="/explain" component={only('demand', () => <Explain />)} />
        <Route path="/billing" component={Billing} />
        <Route path="/admin/users" component={only('admin', () => <Users />)} />
        <Route path="/api-keys" component={ApiKeys} />
        <Route path="/admin/audit" component={only('admin', () => <Audit />)} />
        <Route path="/admin" component={() => <Navigate href="/admin/users" />} />
        <Route
          path="*"
          component={() => <Empty title="No such page">Check the address, or use the navigation.</Empty>}
        />
      </Route>
    </Router>
  );
}

render(() => <App />, document.getElementById('root')!);
