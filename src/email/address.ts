/** Longest address: RFC 5321's 256-octet path without its angle brackets. */
const MAX_ADDRESS_LENGTH = 254;
/** A local part as mail systems write it unquoted: RFC 5322 atext and dots, UTF-8 allowed (RFC 6531). */
const LOCAL_PART = /^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~.-]{1,64}$/u;
/** A host name (labels of letters, digits and inner hyphens; IDNs as written) or an address literal. */
const DOMAIN = /^(?:(?:[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?\.)*[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?|\[[\x21-\x5a\x5e-\x7e]{1,253}\])$/u;

/**
 * Whether `value` is one mail address, `local@domain`, with no display name, spaces, brackets or
 * control characters (quoted local parts, which real mail almost never uses, are refused too).
 */
export function isMailAddress(value: string): boolean {
  if (value.length > MAX_ADDRESS_LENGTH) return false;
  const at = value.lastIndexOf("@");
  if (at <= 0) return false;
  return LOCAL_PART.test(value.slice(0, at)) && DOMAIN.test(value.slice(at + 1));
}

/** `Name <a@b>` → `a@b`; a bare address stays as it is. */
export function bareAddress(address: string): string {
  const angle = /<([^<>]*)>\s*$/.exec(address);
  return (angle?.[1] ?? address).trim();
}
