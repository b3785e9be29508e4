/**
 * The ids of the last `capacity` events rolled up, oldest forgotten first. The event log may hold an
 * event twice when an append was retried after a failure (see EventLog.append); such a copy arrives
 * shortly after the original, so a bounded window of recent ids is enough to drop it.
 */
export class RecentEventIds {
  private readonly ids = new Set<string>();
  private readonly order: string[] = [];
  private head = 0;

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.capacity <= 0 || this.ids.has(id)) return;
    this.ids.add(id);
    this.order.push(id);
    if (this.ids.size > this.capacity) {
      this.ids.delete(this.order[this.head]!);
      this.head++;
      // Compact the queue now and then instead of shifting on every add.
      if (this.head > 4096 && this.head * 2 > this.order.length) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    }
  }

  get size(): number {
    return this.ids.size;
  }

  clear(): void {
    this.ids.clear();
    this.order.length = 0;
    this.head = 0;
  }
}
