// A WebSocket close reason must fit in 123 bytes of UTF-8.
const MAX_REASON_BYTES = 123;

export function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > MAX_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}
