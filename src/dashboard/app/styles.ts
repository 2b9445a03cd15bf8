import { css } from "lit";

/**
 * Styles that sit well inside Home Assistant: its CSS custom properties when the page is shown through
 * ingress inside HA's frame (with fallbacks that match its default light and dark themes otherwise).
 */
export const dashboardStyles = css`
  :host {
    --pb-bg: var(--primary-background-color, #fafafa);
    --pb-card: var(--card-background-color, #ffffff);
    --pb-text: var(--primary-text-color, #212121);
    --pb-muted: var(--secondary-text-color, #727272);
    --pb-divider: var(--divider-color, rgba(0, 0, 0, 0.12));
    --pb-primary: var(--primary-color, #03a9f4);
    --pb-ok: var(--success-color, #43a047);
    --pb-warn: var(--warning-color, #ffa600);
    --pb-bad: var(--error-color, #db4437);
    --pb-radius: var(--ha-card-border-radius, 12px);
    display: block;
    min-height: 100vh;
    background: var(--pb-bg);
    color: var(--pb-text);
    font-family: var(--paper-font-body1_-_font-family, Roboto, "Noto Sans", system-ui, sans-serif);
    font-size: 14px;
    line-height: 1.45;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --pb-bg: var(--primary-background-color, #111111);
      --pb-card: var(--card-background-color, #1c1c1c);
      --pb-text: var(--primary-text-color, #e1e1e1);
      --pb-muted: var(--secondary-text-color, #9b9b9b);
      --pb-divider: var(--divider-color, rgba(225, 225, 225, 0.12));
    }
  }
  .toolbar {
    display: flex;
    align-items: center;
    gap: 12px;
    padding: 0 16px;
    height: 56px;
    background: var(--app-header-background-color, var(--pb-primary));
    color: var(--app-header-text-color, #fff);
    position: sticky;
    top: 0;
    z-index: 1;
  }
  .toolbar h1 { font-size: 20px; font-weight: 400; margin: 0; flex: 1; }
  .toolbar form { display: flex; gap: 6px; }
  .toolbar input { width: 16em; }
  main { padding: 16px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); max-width: 1600px; margin: 0 auto; }
  .wide { grid-column: 1 / -1; }
  .card {
    background: var(--pb-card);
    border-radius: var(--pb-radius);
    box-shadow: var(--ha-card-box-shadow, none);
    border: 1px solid var(--pb-divider);
    padding: 12px 16px;
  }
  h2 { font-size: 16px; font-weight: 500; margin: 0 0 8px; display: flex; gap: 8px; align-items: center; }
  h3 { font-size: 15px; font-weight: 500; margin: 0; }
  ul, ol { list-style: none; margin: 0; padding: 0; }
  .muted { color: var(--pb-muted); }
  .small { font-size: 12px; }
  .mono { font-family: ui-monospace, "Roboto Mono", monospace; font-size: 12px; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .pill { border-radius: 10px; padding: 1px 8px; font-size: 12px; font-weight: 500; background: var(--pb-divider); }
  .pill.ok { background: color-mix(in srgb, var(--pb-ok) 22%, transparent); color: var(--pb-ok); }
  .pill.warn { background: color-mix(in srgb, var(--pb-warn) 22%, transparent); color: var(--pb-warn); }
  .pill.bad { background: color-mix(in srgb, var(--pb-bad) 22%, transparent); color: var(--pb-bad); }
  .pill.idle { color: var(--pb-muted); }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; background: var(--pb-muted); }
  .dot.ok { background: var(--pb-ok); }
  .dot.warn { background: var(--pb-warn); }
  .dot.bad { background: var(--pb-bad); }
  .upstreams ul { display: grid; gap: 8px; }
  .status { color: var(--pb-muted); margin-left: 4px; }
  .rooms { display: grid; gap: 16px; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
  .room header { display: flex; justify-content: space-between; align-items: center; margin-bottom: 4px; }
  .prediction { margin: 0 0 8px; font-size: 13px; }
  .icon { width: 18px; height: 18px; fill: none; stroke: var(--pb-muted); stroke-width: 1.6; stroke-linecap: round; stroke-linejoin: round; }
  .entities li { display: grid; grid-template-columns: 22px 1fr auto; align-items: center; gap: 6px; padding: 3px 4px; border-radius: 6px; transition: background 1s; }
  .entities li.changed { background: color-mix(in srgb, var(--pb-primary) 18%, transparent); transition: none; }
  .entities .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .entities .state { font-variant-numeric: tabular-nums; color: var(--pb-muted); }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 12px; }
  .tile .value { font-size: 22px; font-weight: 300; }
  .spark { width: 100%; height: 32px; }
  .spark polyline { fill: none; stroke: var(--pb-primary); stroke-width: 1.5; }
  .table-wrap { overflow-x: auto; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--pb-divider); vertical-align: top; }
  th { font-weight: 500; color: var(--pb-muted); font-size: 12px; }
  .filters { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }
  .chip { border: 1px solid var(--pb-divider); border-radius: 14px; padding: 1px 8px 1px 4px; font-size: 12px; display: inline-flex; gap: 4px; align-items: center; }
  .search { flex: 1; min-width: 12em; }
  input, button { font: inherit; color: inherit; background: var(--pb-card); border: 1px solid var(--pb-divider); border-radius: 6px; padding: 4px 8px; }
  button { cursor: pointer; color: var(--pb-primary); }
  .toolbar .pill { background: #fff; color: #212121; display: inline-flex; align-items: center; }
  .toolbar .pill::before { content: ""; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--pb-muted); }
  .toolbar .pill.ok::before { background: var(--pb-ok); }
  .toolbar .pill.warn::before { background: var(--pb-warn); }
  .toolbar .pill.bad::before { background: var(--pb-bad); }
  .toolbar input, .toolbar button { background: rgba(255, 255, 255, 0.15); color: inherit; border-color: rgba(255, 255, 255, 0.4); }
  .events { max-height: 420px; overflow-y: auto; font-size: 13px; }
  .events li { display: grid; grid-template-columns: auto auto 1fr; gap: 8px; padding: 2px 0; border-bottom: 1px solid var(--pb-divider); }
  .tag { font-size: 11px; border-radius: 4px; padding: 0 6px; background: var(--pb-divider); white-space: nowrap; }
  .tag.alerts { background: color-mix(in srgb, var(--pb-bad) 25%, transparent); }
  .tag.predictions { background: color-mix(in srgb, var(--pb-primary) 25%, transparent); }
  .tag.automations { background: color-mix(in srgb, var(--pb-warn) 25%, transparent); }
`;
