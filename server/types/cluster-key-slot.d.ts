// The package ships no types; this is the one function of it that sse-chat uses.
declare module 'cluster-key-slot' {
  /** The cluster slot (0-16383) of a key, honouring a `{hash tag}`. */
  export default function calculateSlot(key: string | Buffer): number;
}
