<%@ page contentType="text/plain; charset=UTF-8" %>shop 3.1
java <%= System.getProperty("java.version") %> on <%= application.getServerInfo() %>
cart total = <%= 3 * 19 + 2 * 7 %>
