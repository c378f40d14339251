"""Files in and out of psotrack: CSV today; REDCap, FHIR and CDISC as they are built."""
