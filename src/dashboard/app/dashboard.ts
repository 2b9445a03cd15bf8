import { html, LitElement, type PropertyValues } from "lit";
import { DashboardController, type LinkState } from "./controller.js";
import { TAIL_CATEGORIES, type TailCategory, type TailEntry } from "./state.js";
import { dashboardStyles } from "./styles.js";
import { clients, eventTail, metrics, rooms, upstreams } from "./views.js";

const LINK_LABEL: Record<LinkState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  refused: "Not signed in",
};

/**
 * `<pma-dashboard>`: the whole page. It re-renders at most once per animation frame however fast messages
 * arrive, so a busy home does not cost a render per message.
 */
export class PmaDashboard extends LitElement {
  static override styles = dashboardStyles;

  private readonly controller: DashboardController;
  private categories = new Set<TailCategory>(TAIL_CATEGORIES);
  private query = "";
  private frozen: TailEntry[] | null = null;
  private scheduled = false;
  private clock: ReturnType<typeof setInterval> | undefined;

  constructor() {
    super();
    this.controller = new DashboardController(new URL(".", document.baseURI), () => this.schedule());
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.controller.start();
    // Relative times ("in 4 min") move on even when nothing arrives.
    this.clock = setInterval(() => this.schedule(), 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.controller.stop();
    if (this.clock !== undefined) clearInterval(this.clock);
  }

  protected override updated(_changed: PropertyValues): void {
    this.dataset.link = this.controller.link;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.requestUpdate();
    });
  }

  private signIn(event: SubmitEvent): void {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem("token") as HTMLInputElement;
    this.controller.setToken(input.value);
    input.value = "";
  }

  protected override render() {
    const c = this.controller;
    const now = Date.now();
    const tone = c.link === "live" ? "ok" : c.link === "refused" ? "bad" : "warn";
    return html`
      <header class="toolbar">
        <h1>PMA Bridge</h1>
        <span class="pill ${tone}" data-link=${c.link} role="status">${LINK_LABEL[c.link]}</span>
        <span class="small">${c.subject ? `Signed in as ${c.subject}` : c.token === null ? "Anonymous" : ""}</span>
        <form @submit=${(e: SubmitEvent) => this.signIn(e)}>
          <input name="token" type="password" autocomplete="off" placeholder=${c.token ? "Replace token" : "Token"} aria-label="Access token" />
          <button type="submit">${c.token ? "Switch" : "Sign in"}</button>
        </form>
      </header>
      <main>
        ${upstreams(c)} ${metrics(c)}
        <div class="wide">${rooms(c, now)}</div>
        <div class="wide">
          ${eventTail(
            c,
            { categories: this.categories, query: this.query, paused: this.frozen !== null },
            {
              toggle: (category) => {
                if (!this.categories.delete(category)) this.categories.add(category);
                this.requestUpdate();
              },
              query: (text) => {
                this.query = text;
                this.requestUpdate();
              },
              pause: () => {
                this.frozen = this.frozen === null ? [...c.state.tail] : null;
                this.requestUpdate();
              },
            },
            this.frozen,
          )}
        </div>
        <div class="wide">${clients(c.clients, c.adminProblem)}</div>
      </main>
    `;
  }
}
