"""(filled in by the lead)"""
