import { Suspense } from 'react';
import { matchRoute, usePathname } from './router.ts';
import { NOT_FOUND, ROUTES } from './routes.ts';

/** The shell: picks the page for the current path from the route table. */
export function App() {
  const pathname = usePathname();
  const match = matchRoute(ROUTES, pathname);
  const Page = match?.route.component ?? NOT_FOUND;
  return (
    <Suspense fallback={<div className="page-loading" aria-busy="true" />}>
      <Page key={pathname} params={match?.params ?? {}} />
    </Suspense>
  );
}
