/** @assetops/dashboard — the Dashboard service: the read model of every service's events, its API and live stream. */
export { createDashboardService, dashboardService } from './dashboard.service.js';
export { alertScore, severityRank } from './projection/projection.rules.js';
