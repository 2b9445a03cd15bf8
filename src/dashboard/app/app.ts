import { PmaDashboard } from "./dashboard.js";

customElements.define("pma-dashboard", PmaDashboard);
