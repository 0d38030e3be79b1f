/** @assetops/alert — the Alert service: rules, alerts, evaluation on the telemetry feed. */
export { alertService, createAlertService } from './alert.service.js';
