/**
 * The host name of a `Host` header, without its port: `[::1]:8787` → `[::1]`, `Example.com:80` →
 * `Example.com` (case kept). A bracketed address followed by anything but a port is returned whole,
 * so that no loopback or allow-list check takes `[::1]evil.example` for `[::1]`.
 * @example hostnameOf("localhost:8787") // "localhost"
 */
export function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) {
    const end = hostHeader.indexOf("]") + 1;
    return end > 0 && /^(:\d*)?$/.test(hostHeader.slice(end)) ? hostHeader.slice(0, end) : hostHeader;
  }
  const colon = hostHeader.lastIndexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}
