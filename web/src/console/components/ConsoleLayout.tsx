// The frame of every console page: a skip link, the header with the way home and sign-out, and
// the page itself in <main>.

import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { consolePaths } from '../router';

export function ConsoleLayout(props: {
  title: string;
  onSignOut: (() => void) | null;
  children: ComponentChildren;
}) {
  useEffect(() => {
    document.title = `${props.title} · boxoffice`;
  }, [props.title]);
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="site-header console-header">
        <a class="site-name" href={consolePaths.events()}>
          boxoffice console
        </a>
        <nav aria-label="Console">
          <a href={consolePaths.events()}>Events</a>
          <a href={consolePaths.defense()}>Defence</a>
          <a href={consolePaths.scan()}>Door scanner</a>
          {props.onSignOut && (
            <button type="button" class="button-header" onClick={props.onSignOut}>
              Sign out
            </button>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1} class="console-main">
        {props.children}
      </main>
    </>
  );
}
