/** @assetops/maintenance — the Maintenance service: work orders, technicians, assignment, alert → work order. */
export { createMaintenanceService, maintenanceService } from './maintenance.service.js';
export { canTransition, transitions } from './work-orders/work-order.decide.js';
export { defaultSla } from './work-orders/work-order.sla.js';
