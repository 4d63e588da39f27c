"""The national calendar of preventive vaccinations (приказ Минздрава России № 1122н, приложение 1) as data, each
patient's doses against it from their Immunization resources, and the pages and FHIR operation that show it."""
