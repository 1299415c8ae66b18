import { lazy, Suspense, type ComponentType } from 'react';
import { Redirect, Route, Switch } from 'wouter';
import { Loading } from '../ui/states';
import { Layout } from './Layout';
import { useSession } from './session';
import { SignInPage } from '../pages/SignInPage';
import { NotFoundPage } from '../pages/NotFoundPage';

/**
 * The dashboard's routes. Each page is its own chunk, loaded when first visited, so the first load carries only the
 * frame (React, the router, the query client, the session and the header). Later domains add their routes here and
 * their entry in NAV (Layout.tsx): `/models`, `/connectors`, `/alerts`.
 */
type PageModule = Promise<{ default: ComponentType }>;

/**
 * A lazily loaded page whose chunk starts downloading at once when the address already points at it: a page load
 * of `/datasets` fetches the page's code while the session is being resumed, instead of after.
 */
function page(load: () => PageModule, isCurrent: (path: string) => boolean) {
  let started: PageModule | null = null;
  const once = () => (started ??= load());
  if (typeof location !== 'undefined' && isCurrent(location.pathname)) void once();
  return lazy(once);
}

const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);

const DatasetsPage = page(
  () => import('../pages/datasets/DatasetsPage'),
  (path) => path === '/' || path === '/datasets',
);
const DatasetPage = page(
  () => import('../pages/dataset/DatasetPage'),
  (path) => path.startsWith('/datasets/'),
);
const PipelinesPage = page(
  () => import('../pages/pipelines/PipelinesPage'),
  (path) => path === '/pipelines',
);
const PipelineBuilderPage = page(
  () => import('../pages/pipelines/PipelineBuilderPage'),
  (path) => path.startsWith('/pipelines/'),
);
const JobsPage = page(
  () => import('../pages/jobs/JobsPage'),
  (path) => path === '/jobs',
);
const JobPage = page(
  () => import('../pages/jobs/JobPage'),
  (path) => path.startsWith('/jobs/'),
);
const ModelsPage = page(
  () => import('../pages/models/ModelsPage'),
  (path) => path === '/models',
);
const ModelPage = page(
  () => import('../pages/models/ModelPage'),
  (path) => path.startsWith('/models/'),
);
const ConnectorsPage = page(
  () => import('../pages/connectors/ConnectorsPage'),
  (path) => path === '/connectors',
);
const ConnectorPage = page(
  () => import('../pages/connectors/ConnectorPage'),
  (path) => path.startsWith('/connectors/'),
);
const SettingsPage = page(() => import('../pages/settings/SettingsPage'), under('/settings'));
const SystemPage = page(() => import('../pages/system/SystemPage'), under('/system'));

export function App() {
  const { status, me } = useSession();
  if (status === 'starting') return <Loading label="Starting…" />;
  if (status === 'signedOut') return <SignInPage />;
  // Pages read the caller (useMe) as they render: nothing below renders until it is loaded, after a sign-in, a page
  // load or a workspace switch.
  if (!me) return <Loading label="Loading your account…" />;
  return (
    <Layout>
      <Suspense fallback={<Loading />}>
        <Switch>
          <Route path="/">
            <Redirect to="/datasets" replace />
          </Route>
          <Route path="/sign-in">
            <Redirect to="/datasets" replace />
          </Route>
          <Route path="/datasets" component={DatasetsPage} />
          <Route path="/datasets/:id" component={DatasetPage} />
          <Route path="/pipelines" component={PipelinesPage} />
          <Route path="/pipelines/new" component={PipelineBuilderPage} />
          <Route path="/pipelines/:id" component={PipelineBuilderPage} />
          <Route path="/models" component={ModelsPage} />
          <Route path="/models/:id" component={ModelPage} />
          <Route path="/connectors" component={ConnectorsPage} />
          <Route path="/connectors/:id" component={ConnectorPage} />
          <Route path="/jobs" component={JobsPage} />
          <Route path="/jobs/:id" component={JobPage} />
          <Route path="/settings" component={SettingsPage} />
          <Route path="/settings/:tab" component={SettingsPage} />
          <Route path="/system" component={SystemPage} />
          <Route component={NotFoundPage} />
        </Switch>
      </Suspense>
    </Layout>
  );
}
