// The operator's console and the door scanner: one document (console.html), routed on the client
// over `/console`, `/console/events/new`, `/console/events/{id}`, `/console/defense` and `/scan`.

import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { interceptLinks, useLocation } from '../lib/router';
import { operatorKey } from './api';
import { ConsoleLayout } from './components/ConsoleLayout';
import { DashboardPage } from './pages/DashboardPage';
import { DefensePage } from './pages/DefensePage';
import { EventsPage } from './pages/EventsPage';
import { NewEventPage } from './pages/NewEventPage';
import { ScanPage } from './pages/ScanPage';
import { SignInPage } from './pages/SignInPage';
import { matchConsoleRoute } from './router';
import '../styles/app.css';
import './console.css';

function App() {
  const { pathname, search } = useLocation();
  const route = matchConsoleRoute(pathname);
  const [key, setKey] = useState(operatorKey.get());
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    document.getElementById('main')?.focus();
  }, [pathname, key]);

  const signIn = (next: string | null) => {
    operatorKey.set(next);
    setKey(next);
  };
  if (route.page === 'scan') {
    return (
      <ConsoleLayout title="Door scanner" onSignOut={key ? () => signIn(null) : null}>
        <ScanPage event_id={search.get('event')} signedIn={key} onSignIn={signIn} />
      </ConsoleLayout>
    );
  }
  if (key === null) {
    return (
      <ConsoleLayout title="Operator console" onSignOut={null}>
        <SignInPage onSignIn={signIn} />
      </ConsoleLayout>
    );
  }
  return (
    <ConsoleLayout title="Operator console" onSignOut={() => signIn(null)}>
      {route.page === 'events' ? (
        <EventsPage />
      ) : route.page === 'new_event' ? (
        <NewEventPage />
      ) : route.page === 'defense' ? (
        <DefensePage />
      ) : route.page === 'event' ? (
        <DashboardPage
          key={route.event_id}
          event_id={route.event_id}
          onRefused={() => signIn(null)}
        />
      ) : (
        <>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            <a href="/console">Back to the events</a>
          </p>
        </>
      )}
    </ConsoleLayout>
  );
}

interceptLinks((pathname) => matchConsoleRoute(pathname).page !== 'not_found');
render(<App />, document.getElementById('app')!);
