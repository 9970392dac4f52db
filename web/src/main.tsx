// The fan's pages: one document, routed on the client over the paths `boxoffice serve` answers
// with index.html.

import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { Layout } from './components/Layout';
import { I18nProvider } from './i18n';
import { interceptLinks, matchRoute, useLocation, type Route } from './lib/router';
import { startTelemetry } from './lib/telemetry';
import { CheckoutPage } from './pages/CheckoutPage';
import { EventPage } from './pages/EventPage';
import { EventsPage } from './pages/EventsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { OrderPage } from './pages/OrderPage';
import { QueuePage } from './pages/QueuePage';
import { SeatsPage } from './pages/SeatsPage';
import './styles/app.css';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'events':
      return <EventsPage />;
    case 'event':
      return <EventPage key={route.event_id} event_id={route.event_id} />;
    case 'queue':
      return <QueuePage key={route.event_id} event_id={route.event_id} />;
    case 'seats':
      return <SeatsPage key={route.event_id} event_id={route.event_id} />;
    case 'checkout':
      return <CheckoutPage key={route.event_id} event_id={route.event_id} />;
    case 'order':
      return <OrderPage key={route.order_id} order_id={route.order_id} />;
    case 'not_found':
      return <NotFoundPage />;
  }
}

function App() {
  const { pathname } = useLocation();
  const first = useRef(true);
  // After a move within the site, focus goes to the new page's content, as it would after a page
  // load, so a screen reader starts reading there and a keyboard starts from there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    document.getElementById('main')?.focus();
  }, [pathname]);
  return (
    <Layout>
      <Page route={matchRoute(pathname)} />
    </Layout>
  );
}

startTelemetry();
interceptLinks();
render(
  <I18nProvider>
    <App />
  </I18nProvider>,
  document.getElementById('app')!,
);
