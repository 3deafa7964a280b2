<?xml version="1.0" encoding="UTF-8"?>
<!-- Commonshelf lab: MARCXML -> SRU Dublin Core (info:srw/schema/1/dc-schema).
     Small and deliberate: title, creators, subjects, publisher, date, language,
     type, and identifiers (the 001 as a local id, ISBN/ISSN as URNs, 856 URLs). -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:marc="http://www.loc.gov/MARC21/slim"
    xmlns:srw_dc="info:srw/schema/1/dc-schema"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exclude-result-prefixes="marc">
  <xsl:output method="xml" indent="yes" encoding="UTF-8"/>

  <xsl:template match="/">
    <xsl:apply-templates select="marc:record"/>
  </xsl:template>

  <xsl:template match="marc:record">
    <srw_dc:dc>
      <xsl:for-each select="marc:datafield[@tag='245']">
        <dc:title>
          <xsl:for-each select="marc:subfield[@code='a' or @code='b' or @code='n' or @code='p']">
            <xsl:if test="position() &gt; 1"><xsl:text> </xsl:text></xsl:if>
            <xsl:value-of select="normalize-space(.)"/>
          </xsl:for-each>
        </dc:title>
      </xsl:for-each>
      <xsl:for-each select="marc:datafield[@tag='100' or @tag='110' or @tag='111' or @tag='700' or @tag='710' or @tag='711']">
        <dc:creator><xsl:value-of select="normalize-space(marc:subfield[@code='a'])"/></dc:creator>
      </xsl:for-each>
      <xsl:variable name="leader6" select="substring(marc:leader,7,1)"/>
      <dc:type>
        <xsl:choose>
          <xsl:when test="$leader6='c' or $leader6='d'">notated music</xsl:when>
          <xsl:when test="$leader6='i'">sound recording-nonmusical</xsl:when>
          <xsl:when test="$leader6='j'">sound recording-musical</xsl:when>
          <xsl:when test="$leader6='e' or $leader6='f'">cartographic</xsl:when>
          <xsl:when test="$leader6='g'">moving image</xsl:when>
          <xsl:when test="$leader6='p'">mixed material</xsl:when>
          <xsl:otherwise>text</xsl:otherwise>
        </xsl:choose>
      </dc:type>
      <xsl:for-each select="marc:datafield[@tag='260' or @tag='264']/marc:subfield[@code='b']">
        <dc:publisher><xsl:value-of select="normalize-space(.)"/></dc:publisher>
      </xsl:for-each>
      <xsl:for-each select="marc:datafield[@tag='260' or @tag='264']/marc:subfield[@code='c']">
        <dc:date><xsl:value-of select="normalize-space(.)"/></dc:date>
      </xsl:for-each>
      <xsl:variable name="lang" select="substring(marc:controlfield[@tag='008'],36,3)"/>
      <xsl:if test="string-length(normalize-space($lang))=3">
        <dc:language><xsl:value-of select="$lang"/></dc:language>
      </xsl:if>
      <xsl:for-each select="marc:datafield[starts-with(@tag,'6')]">
        <dc:subject>
          <xsl:for-each select="marc:subfield[@code='a' or @code='x' or @code='y' or @code='z']">
            <xsl:if test="position() &gt; 1"><xsl:text>--</xsl:text></xsl:if>
            <xsl:value-of select="normalize-space(.)"/>
          </xsl:for-each>
        </dc:subject>
      </xsl:for-each>
      <xsl:for-each select="marc:controlfield[@tag='001']">
        <dc:identifier><xsl:value-of select="normalize-space(.)"/></dc:identifier>
      </xsl:for-each>
      <xsl:for-each select="marc:datafield[@tag='020']/marc:subfield[@code='a']">
        <dc:identifier>URN:ISBN:<xsl:value-of select="normalize-space(.)"/></dc:identifier>
      </xsl:for-each>
      <xsl:for-each select="marc:datafield[@tag='022']/marc:subfield[@code='a']">
        <dc:identifier>URN:ISSN:<xsl:value-of select="normalize-space(.)"/></dc:identifier>
      </xsl:for-each>
      <xsl:for-each select="marc:datafield[@tag='856']/marc:subfield[@code='u']">
        <dc:identifier><xsl:value-of select="normalize-space(.)"/></dc:identifier>
      </xsl:for-each>
    </srw_dc:dc>
  </xsl:template>
</xsl:stylesheet>
