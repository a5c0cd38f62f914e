// Virtual scrolling for a table body of fixed-height rows: only the rows in the scroller's view
// (plus an overscan on each side) are in the DOM. The body is as tall as every row and each row
// is placed at its own offset (a transform, with layout and paint contained to the row: style.css),
// so a row entering the window costs the layout and paint of that row only, never of the table.
// Rows that stay in the window are never touched, so focus and hover survive scrolling; rows
// entering it are built once and kept while they stay near the window.
// Keyboard: a roving tab stop moves with the arrows, PageUp/PageDown, Home and End and scrolls its
// row into view. Screen readers get aria-rowcount on the table and aria-rowindex on every row.

const ROW_HEIGHT = 32;  // px, as table.runs tbody tr in style.css
const OVERSCAN = 12;
const KEEP = 200;  // built rows kept this far outside the window (scrolling back costs nothing)

export interface RowBuilder {
  /** The row element of index i: the run's cells, or a placeholder while its block loads. */
  build(i: number): HTMLTableRowElement;
  /** Whether row i has its data (a placeholder is rebuilt when its data arrives). */
  ready(i: number): boolean;
  /** Rows [first, last) are about to be shown: fetch what is missing. */
  need(first: number, last: number): void;
}

export class VirtualRows {
  private total = 0;
  private focusIndex = 0;
  private built = new Map<number, HTMLTableRowElement>();
  private shown: [number, number] = [0, 0];
  private frame = 0;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly table: HTMLTableElement,
    private readonly body: HTMLTableSectionElement,
    private readonly rows: RowBuilder,
  ) {
    scroller.addEventListener("scroll", () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
    }, { passive: true });
    new ResizeObserver(() => this.render()).observe(scroller);
    body.addEventListener("focusin", (e) => {
      const index = indexOf(e.target as Element);
      if (index !== null) this.setTabStop(index);
    });
    body.addEventListener("keydown", (e) => this.keydown(e));
  }

  /** New rows (another filter, sort or column set): back to the top with nothing built. */
  reset(total: number): void {
    this.total = total;
    this.focusIndex = 0;
    this.built.clear();
    this.shown = [0, 0];
    this.table.setAttribute("aria-rowcount", String(total + 1));  // + the header row
    this.body.style.height = `${total * ROW_HEIGHT}px`;
    this.body.replaceChildren();
    this.scroller.scrollTop = 0;
    this.render();
  }

  /** Rows whose data arrived replace their placeholders (in place: the window does not move). */
  refresh(): void {
    for (const [i, row] of this.built) {
      if (row.dataset.placeholder === undefined || !this.rows.ready(i)) continue;
      const hadFocus = row === document.activeElement;
      const fresh = this.make(i);
      if (row.isConnected) row.replaceWith(fresh);
      if (hadFocus) fresh.focus({ preventScroll: true });
    }
  }

  /** Rows in view: [first, last). The header row is sticky, so it covers the top of the view. */
  private window(): [number, number] {
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const rowsInView = Math.ceil(this.scroller.clientHeight / ROW_HEIGHT) + 1;
    return [Math.min(first, this.total), Math.min(this.total, first + rowsInView + 2 * OVERSCAN)];
  }

  render(): void {
    const [first, last] = this.window();
    const [was0, was1] = this.shown;
    if (first === was0 && last === was1) return;
    this.rows.need(first, last);
    // drop rows that left the window; rows that stay are not touched
    const focused = this.built.get(this.focusIndex);
    const hadFocus = focused !== undefined && focused === document.activeElement;
    for (let i = was0; i < was1; i++) if (i < first || i >= last) this.built.get(i)?.remove();
    const keep0 = Math.max(first, was0);
    const keep1 = Math.min(last, was1);
    // the DOM order stays the row order (what assistive technology reads)
    const before = document.createDocumentFragment();
    const after = document.createDocumentFragment();
    if (keep0 >= keep1) {
      for (let i = first; i < last; i++) after.append(this.row(i));
    } else {
      for (let i = first; i < keep0; i++) before.append(this.row(i));
      for (let i = keep1; i < last; i++) after.append(this.row(i));
      this.body.prepend(before);
    }
    this.body.append(after);
    this.shown = [first, last];
    if (this.focusIndex < first || this.focusIndex >= last) {
      // the tab stop scrolled away: it moves to the first row in view, and so does focus if it was there
      const inView = Math.min(this.total - 1, Math.ceil(this.scroller.scrollTop / ROW_HEIGHT));
      if (inView >= 0) {
        this.setTabStop(inView);
        if (hadFocus) this.row(inView).focus({ preventScroll: true });
      }
    }
    for (const i of this.built.keys()) if (i < first - KEEP || i >= last + KEEP) this.built.delete(i);
  }

  private row(i: number): HTMLTableRowElement {
    return this.built.get(i) ?? this.make(i);
  }

  private make(i: number): HTMLTableRowElement {
    const row = this.rows.build(i);
    row.dataset.index = String(i);
    row.setAttribute("aria-rowindex", String(i + 2));
    row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
    row.tabIndex = i === this.focusIndex ? 0 : -1;
    if (!this.rows.ready(i)) row.dataset.placeholder = "";
    this.built.set(i, row);
    return row;
  }

  private setTabStop(index: number): void {
    const old = this.built.get(this.focusIndex);
    if (old) old.tabIndex = -1;
    this.focusIndex = index;
    const row = this.built.get(index);
    if (row) row.tabIndex = 0;
  }

  /** Focus row i (clamped), scrolling it just into view. */
  private focus(i: number): void {
    if (!this.total) return;
    const index = Math.max(0, Math.min(this.total - 1, i));
    const header = this.table.tHead?.offsetHeight ?? 0;
    const top = index * ROW_HEIGHT;
    const view = this.scroller.clientHeight - header;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_HEIGHT > this.scroller.scrollTop + view) this.scroller.scrollTop = top + ROW_HEIGHT - view;
    this.setTabStop(index);
    this.render();
    this.row(index).focus({ preventScroll: true });
  }

  private keydown(e: KeyboardEvent): void {
    const index = indexOf(e.target as Element);
    if (index === null || (e.target as Element).tagName !== "TR") return;
    const page = Math.max(1, Math.floor((this.scroller.clientHeight - (this.table.tHead?.offsetHeight ?? 0)) / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = {
      ArrowDown: index + 1, ArrowUp: index - 1, PageDown: index + page, PageUp: index - page, Home: 0, End: this.total - 1,
    };
    if (!(e.key in moves)) return;
    e.preventDefault();
    this.focus(moves[e.key]);
  }
}

function indexOf(el: Element): number | null {
  const row = el.closest<HTMLElement>("tr[data-index]");
  return row ? Number(row.dataset.index) : null;
}
