/**
 * KEYHOLE_PUBLIC_URL: the URL clients address the broker at (`https://keyhole.example.com`, or with a path prefix a
 * proxy strips), for what must name the URL the client used rather than the one the broker sees behind a proxy or
 * load balancer, such as a DPoP proof's `htu`. Absent or empty: the request's own URL. Anything but an absolute
 * http(s) URL without query or fragment stops the start.
 */
export function publicUrlFrom(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`KEYHOLE_PUBLIC_URL: expected an absolute URL such as https://keyhole.example.com, got "${value}"`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new Error(`KEYHOLE_PUBLIC_URL: expected an http(s) URL without credentials, query or fragment, got "${value}"`);
  }
  return url.href;
}
