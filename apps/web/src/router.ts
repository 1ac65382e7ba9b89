import { useSyncExternalStore, type ComponentType, type LazyExoticComponent } from 'react';

/** One entry of the route table: a path pattern (`/room/:name`) and the page it shows. */
export interface RouteDef {
  path: string;
  /** Human-readable name, e.g. for a nav bar. */
  title: string;
  component: LazyExoticComponent<ComponentType<RouteProps>>;
}

export interface RouteProps {
  params: Readonly<Record<string, string>>;
}

const listeners = new Set<() => void>();
const notify = () => {
  for (const fn of listeners) fn();
};

function subscribe(fn: () => void): () => void {
  if (listeners.size === 0) window.addEventListener('popstate', notify);
  listeners.add(fn);
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0) window.removeEventListener('popstate', notify);
  };
}

/** Client-side navigation (history API); the server answers every app path with index.html. */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  notify();
}

export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

/** Matches `/room/:name`-style patterns; returns the decoded params, or null. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = pathname.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) return null;
  }
  return params;
}

export function matchRoute(routes: readonly RouteDef[], pathname: string): { route: RouteDef; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (params) return { route, params };
  }
  return null;
}

/** The shareable URL of a room. */
export function roomPath(room: string): string {
  return `/room/${encodeURIComponent(room)}`;
}
