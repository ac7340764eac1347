/** A LoRA adapter applied to a model when a reply's context is created: its file and how strongly. */
export interface LlamaAdapterSpec {
  /** Absolute path of a GGUF LoRA adapter. */
  path: string;
  scale: number;
}
