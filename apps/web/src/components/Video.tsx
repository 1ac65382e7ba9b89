import { useEffect, useRef } from 'react';

/** A <video> bound to a MediaStream (srcObject cannot be set through a React prop). */
export function Video({ stream, muted, mirrored, testId }: { stream: MediaStream; muted: boolean; mirrored?: boolean; testId?: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    el.srcObject = stream;
    el.play().catch(() => {
      // Autoplay with sound can be refused before a user gesture; the user's next click resumes.
      const resume = () => void el.play().catch(() => {});
      window.addEventListener('pointerdown', resume, { once: true });
    });
    return () => {
      el.srcObject = null;
    };
  }, [stream]);
  return <video ref={ref} className={mirrored ? 'mirrored' : undefined} autoPlay playsInline muted={muted} data-testid={testId} />;
}
