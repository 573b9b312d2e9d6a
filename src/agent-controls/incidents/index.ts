export { type DutyClock, type NotificationDuty, notificationDuties, type SubjectsInJurisdiction } from './duties.ts';
export {
  closeIncident,
  type Incident,
  IncidentError,
  type IncidentStatus,
  INCIDENT_STATUSES,
  incidentConcerning,
  listIncidents,
  openIncident,
  type OpenIncidentRequest,
  requireKnownAgent,
} from './incidents.ts';
export { INCIDENT_REPORT_FORMATS, type IncidentReportFormat, renderIncidentReport } from './render.ts';
export { buildIncidentReport, type IncidentReport, type IncidentReportContext, type IncidentReportQuery } from './report.ts';
