import { lazy } from 'react';
import type { RouteDef } from './router.ts';

/**
 * The app's pages. To add one, append an entry: the shell matches paths in order, lazily loads
 * the page's module (one chunk per page) and passes it the `:params` of its path.
 */
export const ROUTES: RouteDef[] = [
  { path: '/', title: 'Home', component: lazy(() => import('./pages/HomePage.tsx')) },
  { path: '/room/:name', title: 'Room', component: lazy(() => import('./pages/RoomPage.tsx')) },
  { path: '/watch', title: 'Watch', component: lazy(() => import('./pages/WatchPage.tsx')) },
  { path: '/watch/room/:room', title: 'Watch room', component: lazy(() => import('./pages/WatchPage.tsx')) },
  { path: '/watch/:stream', title: 'Watch', component: lazy(() => import('./pages/WatchPage.tsx')) },
  { path: '/broadcast', title: 'Broadcast', component: lazy(() => import('./pages/BroadcastPage.tsx')) },
  { path: '/recordings', title: 'Recordings', component: lazy(() => import('./pages/RecordingsPage.tsx')) },
  { path: '/diagnostics', title: 'Connection check', component: lazy(() => import('./pages/DiagnosticsPage.tsx')) },
];

export const NOT_FOUND = lazy(() => import('./pages/NotFoundPage.tsx'));
