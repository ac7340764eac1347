/** Types for the parts of `sodium-native` (libsodium, Node-API) that the data-phase cipher uses. */
declare module 'sodium-native' {
  export const crypto_aead_chacha20poly1305_ietf_ABYTES: number;
  /** Writes ciphertext || tag into `ciphertext` (message length + ABYTES); returns its length. */
  export function crypto_aead_chacha20poly1305_ietf_encrypt(ciphertext: Uint8Array, message: Uint8Array, additionalData: Uint8Array | null, nsec: null, npub: Uint8Array, key: Uint8Array): number;
  /** Writes the plaintext into `message`; throws when the ciphertext does not authenticate. */
  export function crypto_aead_chacha20poly1305_ietf_decrypt(message: Uint8Array, nsec: null, ciphertext: Uint8Array, additionalData: Uint8Array | null, npub: Uint8Array, key: Uint8Array): number;
}
