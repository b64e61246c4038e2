/** A tiny listener set; `on` returns its own unsubscribe. */
export class Emitter<T> {
  private listeners = new Set<(value: T) => void>();

  on(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(value: T): void {
    for (const l of [...this.listeners]) l(value);
  }

  get size(): number {
    return this.listeners.size;
  }
}
